"""Documents: what the editors edit (the source of truth, never the widgets), with their undo commands."""
