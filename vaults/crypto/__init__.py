"""Vault cryptography as pure functions: envelope encryption, key providers, the keyring, blind indexes, rotation.

Nothing here touches the ORM; ``config`` is the only module that reads Django settings. The callers
(services, selectors, the re-encryption job) load wrapped keys from ``vaults.DataKey`` and hand them in.
"""
