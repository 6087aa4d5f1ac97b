# Empty compiler generated dependencies file for coordsync_engine.
# This may be replaced when dependencies are built.
