"""Text handling, recommendations and skill suggestions."""
