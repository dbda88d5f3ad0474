"""Pure domain: text normalisation, matching, policies and the data classes that cross layers.

Nothing here imports aiogram, aiohttp or SQLAlchemy.
"""
