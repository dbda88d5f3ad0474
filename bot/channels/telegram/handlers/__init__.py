"""Routers by audience: residents (private chats), officers (their community's group), admins."""
