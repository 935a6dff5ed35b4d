-- gello schema, version 4: kept job results.

-- What a job's handle returned, as JSON text, for jobs that keep results; read until
-- expires_at (by the database clock), and swept now and then by the driver.
CREATE TABLE {{results}} (
    id         text COLLATE "C" PRIMARY KEY,
    data       text NOT NULL,
    expires_at double precision NOT NULL
);
CREATE INDEX {{@results_expires}} ON {{results}} (expires_at);
