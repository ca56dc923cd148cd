"""Projectors: fold the log into read models, inline or catching up."""
