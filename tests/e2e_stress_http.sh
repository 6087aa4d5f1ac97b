#!/usr/bin/env bash
# e2e_stress over http:// (git http-backend behind lighttpd on 127.0.0.1,
# basic auth with a token file): the same servers, jobs, locks and checks
# as e2e_stress.sh, with the sizes documented there.
STRESS_TRANSPORT=http exec bash "${TESTS_DIR:-$(dirname "$0")}/e2e_stress.sh"
