"""The trial store: the one door between ftsweep and Optuna's storages."""
