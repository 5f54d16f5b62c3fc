"""vox_activity: an ActivityPub backend for the django-vox notification framework."""

__all__ = ["__version__"]

__version__ = "0.1.0"
