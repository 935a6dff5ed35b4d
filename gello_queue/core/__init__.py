"""The domain: jobs, envelopes, retry decisions and the registry. No I/O, no drivers."""
