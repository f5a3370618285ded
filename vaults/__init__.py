"""The vault data plane: schemas, envelope encryption, tokens, masking and the Skyflow-compatible API."""
