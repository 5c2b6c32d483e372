"""Value code shared by every room: phone numbers and text cleaning. Imports nothing of the app."""
