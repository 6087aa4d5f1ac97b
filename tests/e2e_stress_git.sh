#!/usr/bin/env bash
# e2e_stress over git:// (git daemon on 127.0.0.1): the same servers, jobs,
# locks and checks as e2e_stress.sh, with the sizes documented there.
STRESS_TRANSPORT=git exec bash "${TESTS_DIR:-$(dirname "$0")}/e2e_stress.sh"
