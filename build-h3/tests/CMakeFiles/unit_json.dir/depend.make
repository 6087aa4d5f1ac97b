# Empty dependencies file for unit_json.
# This may be replaced when dependencies are built.
