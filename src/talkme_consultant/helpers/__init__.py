"""Code shared by every room: phone numbers, text cleaning, private files, hosting an ASGI app.

Imports nothing of the app.
"""
