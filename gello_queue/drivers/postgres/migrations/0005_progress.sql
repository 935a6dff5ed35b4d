-- gello schema, version 5: running jobs' progress.

-- The last progress a job reported (fraction 0..1, message, when, by the worker's
-- clock); read until expires_at (by the database clock), and swept now and then by the
-- driver.
CREATE TABLE {{progress}} (
    id         text COLLATE "C" PRIMARY KEY,
    fraction   double precision NOT NULL,
    message    text,
    updated_at double precision NOT NULL,
    expires_at double precision NOT NULL
);
CREATE INDEX {{@progress_expires}} ON {{progress}} (expires_at);
