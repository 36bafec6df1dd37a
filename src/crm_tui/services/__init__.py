"""The domain: pure Python over SQLModel, the standard library and ``cryptography``.

Nothing here imports Textual; the CLI and the app both call these functions, and every rule
of the role table is enforced here, not only by hiding a button.
"""
