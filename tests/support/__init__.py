"""Helpers shared by test modules (fixtures stay in conftest): test modules import from here,
from conftest and from factories, never from one another."""
