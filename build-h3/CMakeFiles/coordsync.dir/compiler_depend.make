# Empty compiler generated dependencies file for coordsync.
# This may be replaced when dependencies are built.
