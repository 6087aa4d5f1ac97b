# Empty compiler generated dependencies file for unit_mirror.
# This may be replaced when dependencies are built.
