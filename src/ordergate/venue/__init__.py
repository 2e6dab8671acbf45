"""Execution venues: the protocol the engine uses and the simulated exchange."""

from ordergate.venue.base import Quote, Venue, VenueListener, VenueOrder, VenueReport

__all__ = ["Quote", "Venue", "VenueListener", "VenueOrder", "VenueReport"]
