-- Run once by the postgres image on first start (empty data volume), as POSTGRES_USER,
-- connected to POSTGRES_DB (everycall). Creates the Prefect server's own database,
-- owned by the same user.
CREATE DATABASE prefect;
