"""Test support: a fault-injecting HTTP server and provider wire builders."""
