#!/usr/bin/env python3
"""Run every example of the docs: python3 docs_examples.py --coordsync BIN --src SRC
--fleet FLEET.git --tmp DIR --alert-port PORT FILE.md...   (tests/e2e_docs.sh runs it)

Each fenced block of each FILE is run in a fresh sandbox S (DIR/sN): a copy of the
bare remote FLEET at S/srv/git/coord.git, the clone of build1 at S/home/coord (also
reached as S/srv/coord and S/var/lib/coordsync/clone) and build2's at S/fleet/build2
(when a directive names fleet/build2); a block that runs `coordsync init ... --server ID`
gets no pre-made clone of ID.  HOME is S/home; ~/.config/coordsync/{token,git-token,alert-token},
S/etc/coordsync/alert-token and S/var/lib/coordsync/{remote-token,alert-token} exist
(mode 0600), as do the files examples name (build.log, /var/log/build/*.log,
~/edits/coordination/jobs.json, a job add --from jobs.json in the clone).

What a block is, by its info string and the <!-- docs-test: ... --> comments on
the lines right above its fence:
  sh, bash   each line (a trailing \\ joins the next) runs in bash, in S/home/coord
             (or SRC for a block that names source files: build/, docs/systemd/,
             bench/, tests/, .ci/); every line must exit 0, unless its comment says
             otherwise: `# prints: TEXT` (stdout is TEXT) or `# exit N ...` (status N).
  sql        each statement (up to a `;` at a line's end) runs as one argument of
             `coordsync query`, as a reader would paste it, and must return a row.
  json       needs `file: PATH` (it is that file: written there and validated with
             `coordsync validate PATH`) or `output-of: SHELL` (SHELL's JSON output
             has the same members, recursively, as the example).
  ini        systemd units, each after a `# /etc/systemd/system/NAME` line: installed
             in S, `systemd-analyze verify`-ed; one that is also in docs/systemd/ must
             equal it.
  cron       crontab lines: five time fields, then the command, which is run.
  (none)     `$ CMD` lines are run and the lines after each are its output; a block
             whose first line is `# /etc/cron.d/NAME` is a cron.d file (a user field
             after the times); any other needs a directive.
Directives (several may be given, one a comment):
  setup: SHELL       run in S before the block (must exit 0)
  continue           run in the sandbox of the previous block of the page
  file: PATH         the block is the file PATH (json, sql: written there)
  run: SHELL         after writing `file:`, run SHELL (must exit 0)
  output-of: SHELL   the block is the combined output of SHELL (any exit status)
  output             the block is the output of the previous block's last command
  figure: WHY        a figure, not an example: not run
  skip: WHY          not run, for the reason given (the test prints each)
Output is compared line by line: every line of the example must match a line of the
real output, in order (other lines may come between); spaces are collapsed and `…` or
`...` stands for any text.  For `output-of:` and `$` transcripts (the state of a
moment: ages, ids, times) any number also stands for any number, and any hex id for
any; an `output` block (the fleet's known history) is exact.

What cannot run here is replaced, by the tables below: paths (/srv, /var/lib/coordsync,
/etc, /var/log, /usr/local) move under S; the remotes git.example/git.example.com are
the bare remote (git config url.<path>.insteadOf); alert URLs post to a receiver on
127.0.0.1; the Jira site example.atlassian.net is the Jira stand-in
(JIRA_SEED, $TOKEN); sudo -u USER, useradd, install -o/-g, systemctl, journalctl and
ssh-keyscan are shims (functions in the prelude), long benchmarks and builds are
checked (the script and each option exist), not run.  JOB, ID and COMMIT stand for the
first word the previous command printed, CLONE for the clone, SERVER for build1.
"""
import argparse
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import time

ap = argparse.ArgumentParser()
ap.add_argument("--coordsync", required=True)
ap.add_argument("--src", required=True)
ap.add_argument("--fleet", required=True)
ap.add_argument("--tmp", required=True)
ap.add_argument("--alert-port", required=True)
ap.add_argument("-v", action="store_true")
ap.add_argument("files", nargs="+")
A = ap.parse_args()
CS = os.path.abspath(A.coordsync)
SRC = os.path.abspath(A.src)

# --- the substitution tables (keep them small and explicit) -------------------
# Paths in examples -> the sandbox.  Applied where the path starts a word.
PATHS = ["/srv/", "/var/lib/coordsync", "/var/log/", "/etc/", "/usr/local/"]
# Remotes in examples -> the bare remote S/srv/git/coord.git (git config insteadOf).
REMOTES = ["https://git.example/", "https://git.example.com/fleet/", "git@git.example.com:fleet/"]
# Alert endpoints -> the receiver on 127.0.0.1.
ALERTS = ["https://alerts.example.com/hook", "https://alerts.example/hook"]
# The Jira site of the examples -> the stand-in (tests/jira_standin.py) on 127.0.0.1, started
# for the first block that names it, with the tests' seed made the examples' site by JIRA_SEED
# (project VNFFRAM, board 2, the token's user me@example.com); $TOKEN is its token.
JIRA_SITE = "https://example.atlassian.net"
JIRA_SEED = [('"VNF-', '"VNFFRAM-'), ('"key": "VNF"', '"key": "VNFFRAM"'),
             ('"id": 1, "name": "VNF board"', '"id": 2, "name": "VNF board"'), ('"originBoardId": 1', '"originBoardId": 2'),
             ("alice@example.invalid", "me@example.com"), ("@example.invalid", "@example.com")]
JIRA_TOKEN = "docs-test-token"
# Placeholders (whole words, outside comments).
PLACEHOLDERS = {"JOB": '"$LAST"', "ID": '"$LAST"', "COMMIT": '"$LAST"', "CLONE": '"$CLONE"',
                "SERVER": "build1"}
# Commands that take minutes, or change this machine: checked (script and options exist), not run.
STATIC = re.compile(r"^(\S+=\S+\s+)*(bench/|tests/soak_|tests/fuzz/run\.sh|bash tests/fuzz/|"
                    r"bash \.ci/deps|cmake |CC=\S+ cmake |ctest |python3 tests/(model_test|history_check)\.py)")

PRELUDE = r'''
set -u
LAST=""
CLONE="$HOME/coord"
# _subst TEXT: the paths of a unit's line moved into the sandbox (as subst() does)
_subst() {
  local t=$1
  t=${t//\/usr\/local\//$S/usr/local/}
  t=${t//\/var\/lib\/coordsync/$S/var/lib/coordsync}
  t=${t//\/srv\//$S/srv/}; t=${t//\/etc\//$S/etc/}
  t=${t//https:\/\/alerts.example.com\/hook/http://127.0.0.1:$ALERT_PORT/hook}
  printf '%s' "$t"
}
coordsync() {
  local a=("$@") i=0 rc out
  while [ "${a[$i]:-}" = -C ] || [ "${a[$i]:-}" = --json ] || [ "${a[$i]:-}" = --server ]; do
    [ "${a[$i]}" = --json ] && i=$((i + 1)) || i=$((i + 2))
  done
  if [ "${a[$i]:-}" = daemon ] || [ "${a[$i]:-}" = serve ]; then
    # runs until stopped: it must still run after 2 s, and stop on SIGTERM with status 0
    timeout -s TERM 2 "$CS_BIN" "$@"; rc=$?
    [ $rc -eq 124 ] && rc=0
    return $rc
  fi
  local f; f=$(mktemp "$S/.last.XXXXXX")   # one each: two may run in a pipeline
  "$CS_BIN" "$@" >"$f"; rc=$?
  cat "$f"
  out=$(head -n1 "$f" | awk '{print $1}')
  [ -n "$out" ] && LAST=$out
  return $rc
}
git() {
  local rc f; f=$(mktemp "$S/.last.XXXXXX")
  command git "$@" >"$f"; rc=$?
  cat "$f"
  local w; w=$(head -n1 "$f" | awk '{print $1}')
  [ -n "$w" ] && LAST=$w
  return $rc
}
# as_server ID PYTHON: play seed server ID with the git CLI: PYTHON changes d (path ->
# JSON object, every *.json of the repository) or raw (path -> text), with now and iso(SEC),
# SEC seconds ago, at hand;
# then the files are committed as ID (dated AGE seconds ago with AS_AGE=AGE) and pushed
as_server() {
  local w=$S/.as-$1 when="@$(( $(date +%s) - ${AS_AGE:-0} )) +0000"
  [ -d "$w" ] || command git clone -q "$S/srv/git/coord.git" "$w" 2>/dev/null || return 1
  command git -C "$w" pull -q --rebase 2>/dev/null || return 1
  python3 - "$w" "$2" <<'PY' || return 1
import json, os, sys, time
w, code = sys.argv[1], sys.argv[2]
d = {}
for root, _, files in os.walk(w):
    if ".git" in root.split(os.sep):
        continue
    for f in files:
        if f.endswith(".json"):
            p = os.path.relpath(os.path.join(root, f), w)
            with open(os.path.join(w, p)) as fh:
                d[p] = json.load(fh)
now = time.time()
iso = lambda sec: time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now - sec))
raw = {}
exec(code, {"d": d, "raw": raw, "now": now, "iso": iso})
for p, o in d.items():
    os.makedirs(os.path.dirname(os.path.join(w, p)) or w, exist_ok=True)
    with open(os.path.join(w, p), "w") as fh:
        json.dump(o, fh, indent=2); fh.write("\n")
for p, t in raw.items():
    os.makedirs(os.path.dirname(os.path.join(w, p)) or w, exist_ok=True)
    with open(os.path.join(w, p), "w") as fh:
        fh.write(t)
PY
  (cd "$w" && command git add -A && GIT_AUTHOR_NAME=$1 GIT_COMMITTER_NAME=$1 GIT_AUTHOR_DATE=$when GIT_COMMITTER_DATE=$when command git commit -qm "$1: docs-test" &&
   command git push -q origin HEAD:main 2>/dev/null)
}
# max_age_for SERVER [AGE]: a --max-age under which SERVER's heartbeat is stale, a WARNING,
# not yet CRITICAL for 2 s or more: its age (since this clone first saw it, waited for until
# at least AGE s, default 5) less a second
max_age_for() {
  local t a
  t=$("$CS_BIN" query "SELECT CAST(since_wall AS INTEGER) + 1 FROM watch WHERE kind = 'heartbeat' AND key = '$1'" --format csv | tail -n1)
  a=$(( $(date +%s) - t ))
  [ $a -ge "${2:-5}" ] || { sleep $(( ${2:-5} - a )); a=${2:-5}; }
  echo $(( a - 1 ))
}
# sudo -u USER CMD: CMD as this user
sudo() { [ "$1" = -u ] && shift 2; "$@"; }
# useradd ... --home-dir DIR --create-home ...: only the home
useradd() {
  local home="" mk=0
  while [ $# -gt 0 ]; do
    case $1 in --home-dir|-d) home=$2; shift ;; --create-home|-m) mk=1 ;; --system|-r) ;;
      --shell|-s) [ -e "$2" ] || { echo "useradd: no shell $2" >&2; return 1; }; shift ;;
      -*) echo "useradd: an option the shim does not know: $1" >&2; return 1 ;; esac
    shift
  done
  [ $mk = 1 ] && mkdir -p "$home"
  return 0
}
# install -o USER / -g GROUP: the ownership is dropped (one user here)
install() {
  local a=()
  while [ $# -gt 0 ]; do
    case $1 in -o|-g) shift ;; *) a+=("$1") ;; esac
    shift
  done
  command install "${a[@]}"
}
ssh-keyscan() { echo "$1 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIDocsTestShimKey"; }
journalctl() { return 0; }
valgrind() { while [ "${1#--}" != "$1" ]; do shift; done; "$@"; }
# systemctl: the units must be installed in S/etc/systemd/system; `enable --now`
# runs the service's ExecStart once (a timer's service; a daemon until stopped)
systemctl() {
  local u=$S/etc/systemd/system
  case $1 in
    daemon-reload) return 0 ;;
    enable|start)
      local n; [ "$1" = enable ] && [ "${2:-}" = --now ] && shift; shift
      for n in "$@"; do _unit_start "$n" || return 1; done ;;
    list-timers)
      shift; local pat=${1//\'/}; compgen -G "$u/${pat/@\*/@}*" >/dev/null ||
        { echo "systemctl: no unit matches $pat in $u" >&2; return 1; } ;;
    *) echo "systemctl: the shim does not know '$1'" >&2; return 1 ;;
  esac
}
_unit_start() {
  local name=$1 file inst="" base svc
  file=$name
  if [[ $name == *@?*.* ]]; then inst=${name#*@}; inst=${inst%.*}; file=${name%%@*}@.${name##*.}; fi
  [ -f "$S/etc/systemd/system/$file" ] || { echo "systemctl: no unit $file in $S/etc/systemd/system" >&2; return 1; }
  base=${name%.*}
  if [ "${name##*.}" = timer ]; then svc=$(sed -n 's/^Unit=//p' "$S/etc/systemd/system/$file"); svc=${svc:-$base.service}; svc=${svc//%i/$inst}
    _unit_start "$svc"; return; fi
  local exe wd ok
  exe=$(sed -n 's/^ExecStart=//p' "$S/etc/systemd/system/$file"); exe=${exe//%i/$inst}
  wd=$(sed -n 's/^WorkingDirectory=//p' "$S/etc/systemd/system/$file"); wd=${wd//%i/$inst}
  ok=" 0 $(sed -n 's/^SuccessExitStatus=//p' "$S/etc/systemd/system/$file") "
  exe=$(_subst "$exe"); wd=$(_subst "${wd:-$S}")
  local rc to=""; case $exe in *" daemon"*) to="timeout -s TERM 2" ;; esac
  (cd "$wd" && eval "$to $exe" >/dev/null); rc=$?
  case $exe in *" daemon"*) [ $rc -eq 124 ] && rc=0 ;; esac
  [[ $ok == *" $rc "* ]] || { echo "systemctl: $name: ExecStart exited $rc" >&2; return 1; }
}
'''


JIRA = {}   # the stand-in, once started: its process and base URL


def jira_standin():
    """Start the Jira stand-in (once); its base URL."""
    if "url" in JIRA:
        return JIRA["url"]
    d = os.path.join(A.tmp, "jira")
    os.makedirs(d, exist_ok=True)
    seed = open(os.path.join(SRC, "tests/resources/jira/seed.json"), encoding="utf-8").read()
    seed = json.dumps(json.loads(seed))   # one spelling ("k": v) for the table
    for a, b in JIRA_SEED:
        if a not in seed:
            raise Fail("fixture: the Jira seed has no %s (JIRA_SEED is out of date)" % a)
        seed = seed.replace(a, b)
    with open(d + "/seed.json", "w") as f:
        f.write(seed)
    with open(d + "/token", "w") as f:
        f.write(JIRA_TOKEN + "\n")
    os.chmod(d + "/token", 0o600)
    JIRA["proc"] = subprocess.Popen(
        [sys.executable, os.path.join(SRC, "tests/jira_standin.py"), "--port-file", d + "/port",
         "--state", d + "/seed.json", "--token-file", d + "/token", "--user", "me@example.com",
         "--lifetime", "300"], stdout=subprocess.DEVNULL, stderr=open(d + "/err", "w"))
    for _ in range(100):
        if os.path.exists(d + "/port") and open(d + "/port").read().strip():
            break
        if JIRA["proc"].poll() is not None:
            raise Fail("fixture: the Jira stand-in died: %s" % open(d + "/err").read()[-600:])
        time.sleep(0.1)
    else:
        raise Fail("fixture: the Jira stand-in wrote no port in 10 s")
    JIRA["url"] = "http://127.0.0.1:%s" % open(d + "/port").read().strip()
    return JIRA["url"]


def subst(text, S, port):
    """The substitution tables applied to TEXT (a command, a unit's line)."""
    if JIRA_SITE in text:
        text = text.replace(JIRA_SITE, jira_standin())
    for r in REMOTES:
        text = text.replace(r, S + "/srv/git/")
    for a in ALERTS:
        text = text.replace(a, "http://127.0.0.1:%s/hook" % port)
    for p in PATHS:
        text = re.sub(r"(?<![\w./-])" + re.escape(p), S + p, text)
    text = re.sub(r"(?<![\w./-])~/", S + "/home/", text)
    text = re.sub(r"(?<![\w./-])~(?=\s|$)", S + "/home", text)
    return text


class Fail(Exception):
    pass


# --- parsing -----------------------------------------------------------------
def blocks(path):
    lines = open(path, encoding="utf-8").read().split("\n")
    out = []
    i = 0
    while i < len(lines):
        m = re.match(r"^(\s*)(```+)(\S*)\s*$", lines[i])
        if not m:
            i += 1
            continue
        start, fence, lang = i, m.group(2), m.group(3)
        body = []
        i += 1
        while i < len(lines) and not re.match(r"^\s*" + fence + r"\s*$", lines[i]):
            body.append(lines[i])
            i += 1
        # directives: the HTML comments on the lines right above the fence
        j, text, dirs = start - 1, [], []
        while j >= 0 and lines[j].rstrip().endswith("-->"):
            k = j
            while k >= 0 and "<!--" not in lines[k]:
                k -= 1
            if k < 0:
                break
            text = lines[k:j + 1] + text
            j = k - 1
        for c in re.findall(r"<!--\s*docs-test:(.*?)-->", "\n".join(text), re.S):
            c = c.strip()
            k, _, v = c.partition(":") if re.match(r"^[a-z-]+:", c) else (c, "", "")
            dirs.append((k.strip(), v.strip()))
        out.append({"line": start + 1, "lang": lang, "body": body, "dirs": dirs,
                    "indent": len(m.group(1))})
        i += 1
    return out


def strip_comment(line):
    """LINE without its trailing # comment (outside quotes), and the comment."""
    q, esc = None, False
    for k, ch in enumerate(line):
        if esc:
            esc = False
        elif ch == "\\" and q != "'":
            esc = True
        elif q:
            if ch == q:
                q = None
        elif ch in "'\"":
            q = ch
        elif ch == "#" and (k == 0 or line[k - 1] in " \t"):
            return line[:k].rstrip(), line[k + 1:].strip()
    return line.rstrip(), ""


def logical_lines(body, first):
    """(doc line number, command, comment) per logical line of a shell block."""
    out = []
    cur, curno, comments = "", None, []
    for n, raw in enumerate(body):
        cmd, com = strip_comment(raw)
        if curno is None:
            curno = first + n
        if com:
            comments.append(com)
        if cmd.endswith("\\"):
            cur += cmd[:-1] + " "
            continue
        if re.search(r"(\||&&|\|\|)$", cmd):
            cur += cmd + " "
            continue
        cur += cmd
        if cur.strip():
            out.append((curno, cur.strip(), comments[0] if comments else ""))
        cur, curno, comments = "", None, []
    return out


# --- output comparison ---------------------------------------------------------
NUM = re.compile(r"\d+(?:\.\d+)?")


def line_re(exp, loose=True):
    exp = " ".join(exp.split())
    if not loose:
        return re.compile("^" + ".*".join(re.escape(x) for x in re.split(r"…|\.\.\.", exp)) + "$")
    parts = re.split(r"(…|\.\.\.|\b[0-9a-f]*\d[0-9a-f]*[a-f][0-9a-f]*\b|\b[0-9a-f]*[a-f][0-9a-f]*\d[0-9a-f]*\b"
                     r"|\b[0-9a-f]+(?=…)|\d+(?:\.\d+)?)", exp)
    rx = ""
    for p in parts:
        if p in ("…", "..."):
            rx += ".*"
        elif p and re.fullmatch(r"[0-9a-f]+", p) and re.search(r"[a-f]", p):
            rx += "[0-9a-f-]+"
        elif p and NUM.fullmatch(p):
            rx += r"-?\d+(?:\.\d+)?"
        else:
            rx += re.escape(p)
    return re.compile("^" + rx + "$")


def compare_text(expected, actual, loose=True):
    """None when every expected line matches an actual line, in order; else why not."""
    act = [" ".join(a.split()) for a in actual.split("\n")]
    k = 0
    for e in expected:
        if not e.strip() or e.strip() in ("…", "..."):
            continue
        rx = re.compile(r"^[- ]+$") if re.fullmatch(r"[- ]+", e.strip()) else line_re(e, loose)
        while k < len(act) and not rx.match(act[k]):
            k += 1
        if k == len(act):
            return "no line (in order) like: %s\n--- actual output:\n%s" % (e.strip(), actual.rstrip())
        k += 1
    return None


def shape(v):
    if isinstance(v, dict):
        return {k: shape(x) for k, x in v.items()}
    if isinstance(v, list):
        return [shape(v[0])] if v else []
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, (int, float)):
        return "number"
    if v is None:
        return "null"
    return "string"


def compare_json(exp, act, where="$"):
    if isinstance(exp, dict):
        if not isinstance(act, dict):
            return "%s: the example has an object, the output %s" % (where, json.dumps(act)[:80])
        miss = [k for k in exp if k not in act]
        extra = [k for k in act if k not in exp]
        if miss or extra:
            return "%s: members only in the example: %s; only in the output: %s" % (where, miss, extra)
        for k in exp:
            r = compare_json(exp[k], act[k], where + "." + k)
            if r:
                return r
    elif isinstance(exp, list):
        if not isinstance(act, list):
            return "%s: the example has an array" % where
        if exp and act:
            return compare_json(exp[0], act[0], where + "[0]")
    elif exp is not None and act is not None and shape(exp) != shape(act):
        return "%s: the example has a %s, the output a %s" % (where, shape(exp), shape(act))
    return None


# --- the sandbox -----------------------------------------------------------------
class Sandbox:
    n = 0

    def __init__(self, inits, build2):
        Sandbox.n += 1
        self.S = S = os.path.join(A.tmp, "s%d" % Sandbox.n)
        os.makedirs(S)
        self.env = dict(os.environ, HOME=S + "/home", S=S, CS_BIN=CS, GIT_CONFIG_NOSYSTEM="1",
                        PATH=S + "/bin:" + os.environ["PATH"], TMPDIR=S + "/tmp", ALERT_PORT=A.alert_port,
                        RX=os.path.join(A.tmp, "rx"), TOKEN=JIRA_TOKEN)
        self.env.pop("GIT_DIR", None)
        for d in ("home/.config/coordsync", "srv/git", "etc/coordsync", "etc/systemd/system",
                  "etc/cron.d", "var/lib/coordsync", "var/log/build", "usr/local/bin",
                  "usr/local/share/doc", "fleet", "tmp", "bin", "home/edits/coordination"):
            os.makedirs(os.path.join(S, d), exist_ok=True)
        os.symlink(CS, S + "/bin/coordsync")
        os.symlink(CS, S + "/usr/local/bin/coordsync")
        with open(S + "/.stdin", "w") as f:   # what a reader types when a line reads standard input
            f.write("docs-test-token\n")
        shutil.copytree(A.fleet, S + "/srv/git/coord.git", symlinks=True)
        with open(S + "/home/.gitconfig", "w") as f:
            f.write("[user]\n\tname = docs\n\temail = docs@example.invalid\n[init]\n\tdefaultBranch = main\n"
                    "[advice]\n\tdetachedHead = false\n[url \"%s/srv/git/\"]\n" % S)
            f.write("".join("\tinsteadOf = %s\n" % r for r in REMOTES))
        for t in ("home/.config/coordsync/token", "home/.config/coordsync/git-token",
                  "home/.config/coordsync/alert-token", "etc/coordsync/alert-token",
                  "var/lib/coordsync/remote-token", "var/lib/coordsync/alert-token"):
            with open(os.path.join(S, t), "w") as f:
                f.write("docs-test-token\n")
            os.chmod(os.path.join(S, t), 0o600)
        for lf in ("var/log/build/build-20250301T1200.log", "var/log/build/test-20250301T1200.log",
                   "home/coord.build.log"):
            with open(os.path.join(S, lf), "w") as f:
                f.write("a build log\n")
        # the clones: build1 at ~/coord (also /srv/coord and /var/lib/coordsync/clone), build2
        if "build1" not in inits:
            self.run([CS, "init", S + "/srv/git/coord.git", S + "/home/coord", "--server", "build1"])
            os.symlink(S + "/home/coord", S + "/srv/coord")
            os.symlink(S + "/home/coord", S + "/var/lib/coordsync/clone")
            shutil.move(S + "/home/coord.build.log", S + "/home/coord/build.log")
            with open(S + "/home/coord/jobs.json", "w") as f:   # job add --from jobs.json
                f.write('[{"priority": 2, "command": "make check"}, {"command": "make docs"}]\n')
            with open(S + "/home/coord/.git/info/exclude", "a") as f:
                f.write("build.log\njobs.json\n")
            shutil.copy(S + "/home/coord/coordination/jobs.json", S + "/home/edits/coordination/jobs.json")
        if build2 and "build2" not in inits:
            self.run([CS, "init", S + "/srv/git/coord.git", S + "/fleet/build2", "--server", "build2"])
            self.run([CS, "-C", S + "/home/coord", "sync"]) if "build1" not in inits else None
        self.cwd = S + "/home/coord" if os.path.isdir(S + "/home/coord") else S + "/home"

    def src(self):
        """S/src: the source tree's entries as symlinks, so that what a block writes stays in S."""
        d = self.S + "/src"
        if not os.path.isdir(d):
            os.makedirs(d)
            for e in os.listdir(SRC):
                if e not in (".git",):
                    os.symlink(os.path.join(SRC, e), os.path.join(d, e))
        return d

    def run(self, argv, **kw):
        r = subprocess.run(argv, env=self.env, cwd=kw.get("cwd", self.S), stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True, timeout=60)
        if r.returncode != 0 and kw.get("check", True):
            raise Fail("fixture: %s exited %d: %s" % (" ".join(argv), r.returncode, r.stdout))
        return r

    def sh(self, script, cwd=None):
        """Run SCRIPT (after the prelude) in bash; (status, stdout, stderr)."""
        r = subprocess.run(["bash", "-c", PRELUDE + script],
                           env=self.env, cwd=cwd or self.cwd, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True, timeout=60)
        return r.returncode, r.stdout, r.stderr

    def subst(self, text):
        return subst(text, self.S, A.alert_port)


# --- the kinds of block -------------------------------------------------------------
def static_check(line, cmd):
    """A command that takes minutes or changes the machine: its script and options exist."""
    words = shlex.split(cmd)
    while words and re.match(r"^\w+=", words[0]):
        words.pop(0)
    if words[:1] == ["bash"] or words[:1] == ["python3"]:
        words.pop(0)
    prog = words[0]
    if prog in ("cmake", "ctest"):
        if prog == "ctest" and "-R" in words:
            rx = re.compile(words[words.index("-R") + 1])
            names = [f[:-3] for f in os.listdir(SRC + "/tests") if f.startswith("e2e_") and f.endswith(".sh")]
            names += ["fuzz_replay"] if os.path.isdir(SRC + "/tests/fuzz") else []
            if not any(rx.search(n) for n in names):
                raise Fail("line %d: ctest -R %s matches no test" % (line, rx.pattern))
        return
    path = os.path.join(SRC, prog)
    if not os.path.isfile(path):
        raise Fail("line %d: no %s in the source tree" % (line, prog))
    text = open(path, encoding="utf-8", errors="replace").read()
    for w in words[1:]:
        if w.startswith("--") and w.split("=")[0] not in text:
            raise Fail("line %d: %s has no option %s" % (line, prog, w))


def run_sh(sb, b, path, cwd=None):
    body = b["body"]
    src_block = any(re.search(r"(^|\s)(\./)?(build/|docs/systemd/|bench/|tests/|\.ci/|docs/OPERATIONS)", x)
                    for x in body)
    cwd = cwd or (sb.src() if src_block else None)
    script = []
    for no, cmd, com in logical_lines(body, b["line"] + 1):
        parts = [x.strip() for x in re.split(r"\s&&\s", cmd)]
        if any(STATIC.match(x) for x in parts):
            for x in parts:
                if STATIC.match(x):
                    static_check(no, x)
            parts = [x for x in parts if not STATIC.match(x)]
            if not parts:
                continue
            cmd = " && ".join(parts)
        cmd = re.sub(r"^(\./)?build/coordsync(?=\s)", "coordsync", cmd)
        cmd = sb.subst(cmd)
        for k, v in PLACEHOLDERS.items():
            cmd = re.sub(r"(?<![\w./$-])%s(?![\w-])" % k, v, cmd)
        want_rc, want_out = 0, None
        m = re.match(r"^exit (\d+)\b", com)
        if m:
            want_rc = int(m.group(1))
        m = re.match(r"^prints: (.*)$", com)
        if m:
            want_out = m.group(1).strip()
        script.append("_docs_out=$S/.out.%d; { %s\n} <$S/.stdin >$_docs_out 2>$_docs_out.err; _rc=$?; cat $_docs_out\n"
                      "if [ $_rc -ne %d ]; then echo \"DOCS-FAIL %d exit $_rc (want %d): $(cat $_docs_out.err)\" >&2; exit 1; fi\n"
                      % (no, cmd, want_rc, no, want_rc))
        if want_out is not None:
            script.append("if [ \"$(cat $_docs_out)\" != %s ]; then echo \"DOCS-FAIL %d prints '$(cat $_docs_out)', the doc says %s\" >&2; exit 1; fi\n"
                          % (shlex.quote(want_out), no, shlex.quote(want_out).replace('"', '\\"')))
    if not script:
        return ""
    if A.v:
        print("".join(script))
    rc, out, err = sb.sh("".join(script), cwd=cwd)
    if rc != 0:
        m = re.search(r"DOCS-FAIL (\d+) (.*)", err, re.S)
        if m:
            raise Fail("line %s: %s" % (m.group(1), m.group(2).strip()[:1500]))
        raise Fail("the block exited %d: %s" % (rc, err[-1500:]))
    return out


def run_sql(sb, b):
    stmts, cur, start = [], [], None
    for n, line in enumerate(b["body"]):
        if start is None and line.strip():
            start = b["line"] + 1 + n
        cur.append(line)
        if line.rstrip().endswith(";"):
            stmts.append((start, "\n".join(cur).strip()))
            cur, start = [], None
    if "".join(cur).strip():
        stmts.append((start, "\n".join(cur).strip()))
    out = ""
    for no, s in stmts:
        r = sb.run([CS, "query", s], cwd=sb.cwd, check=False)
        if r.returncode != 0:
            raise Fail("line %d: coordsync query exited %d: %s" % (no, r.returncode, r.stdout.strip()[:800]))
        if len(r.stdout.strip().split("\n")) < 3:
            raise Fail("line %d: no row from the fleet (the examples' data): %s" % (no, r.stdout.strip()))
        out = r.stdout
    return out


def run_units(sb, b):
    files, cur = {}, None
    for line in b["body"]:
        m = re.match(r"^#\s*(/etc/systemd/system/(\S+))", line)
        if m:
            cur = m.group(2)
            files[cur] = []
            continue
        if cur is None:
            raise Fail("a unit block must name each file (# /etc/systemd/system/NAME) before its lines")
        files[cur].append(line)
    vdir = sb.S + "/verify"
    os.makedirs(vdir, exist_ok=True)
    for name, lines in files.items():
        text = "\n".join(lines).strip() + "\n"
        shipped = os.path.join(SRC, "docs/systemd", name)
        if os.path.exists(shipped):
            ship = [x for x in open(shipped).read().strip().split("\n") if x and not x.startswith("#")]
            mine = [x for x in text.strip().split("\n") if x and not x.startswith("#")]
            if ship != mine:
                raise Fail("%s differs from docs/systemd/%s" % (name, name))
        with open(os.path.join(sb.S, "etc/systemd/system", name), "w") as f:
            f.write(text)
        # verify with the binary under test and the sandbox's paths
        with open(os.path.join(vdir, name), "w") as f:
            f.write(sb.subst(text))
    if not shutil.which("systemd-analyze"):
        raise Fail("systemd-analyze is not installed (Debian's systemd package; .ci/deps installs it)")
    r = subprocess.run(["systemd-analyze", "verify", "--man=no"] + [os.path.join(vdir, n) for n in files],
                       cwd=vdir, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=60)
    # the unit's User= does not exist on this machine: that is no finding
    bad = [x for x in r.stdout.split("\n") if x.strip() and "Failed to resolve user" not in x
           and "has no user" not in x]
    if r.returncode != 0 or bad:
        raise Fail("systemd-analyze verify: %s" % r.stdout.strip()[:800])


def run_cron(sb, b, user_field):
    for n, line in enumerate(b["body"]):
        s = line.strip()
        if not s or s.startswith("#") or re.match(r"^[A-Z_]+=", s):
            continue
        f = s.split(None, 6 if user_field else 5)
        if len(f) < (7 if user_field else 6):
            raise Fail("line %d: not a cron line: %s" % (b["line"] + 1 + n, s))
        for k, field in enumerate(f[:5]):
            if not re.fullmatch(r"(\*|\d+(-\d+)?)(/\d+)?(,(\*|\d+(-\d+)?)(/\d+)?)*", field):
                raise Fail("line %d: time field %d '%s' is not cron syntax" % (b["line"] + 1 + n, k + 1, field))
        cmd = f[6] if user_field else f[5]
        run_sh(sb, {"body": [cmd], "line": b["line"] + n}, None, cwd=sb.S)


def run_transcript(sb, b):
    cmds = []
    for n, line in enumerate(b["body"]):
        if line.startswith("$ "):
            cmds.append([b["line"] + 1 + n, line[2:], []])
        elif cmds:
            cmds[-1][2].append(line)
    for no, cmd, expected in cmds:
        c = sb.subst(cmd)
        for k, v in PLACEHOLDERS.items():
            c = re.sub(r"(?<![\w./$-])%s(?![\w-])" % k, v, c)
        rc, out, err = sb.sh("{ %s\n} 2>&1" % c)
        why = compare_text(expected, out)
        if why:
            raise Fail("line %d: `%s`: %s" % (no, cmd, why))


def output_of(sb, b, shell):
    rc, out, err = sb.sh("{ %s\n} 2>&1" % sb.subst(shell))
    if b["lang"] == "json":
        try:
            exp = json.loads("\n".join(b["body"]))
        except ValueError as e:
            raise Fail("the example is not JSON: %s" % e)
        try:
            act = json.loads(out)
        except ValueError:
            raise Fail("`%s` printed no JSON object: %s" % (shell, out[:800]))
        why = compare_json(exp, act)
    else:
        why = compare_text(b["body"], out)
    if why:
        raise Fail("output of `%s`: %s" % (shell, why))


def schema_check(name, text):
    """TEXT against the schema in coordination/schema/ whose title is NAME."""
    import jsonschema
    for f in sorted(os.listdir(SRC + "/coordination/schema")):
        with open(os.path.join(SRC, "coordination/schema", f)) as fh:
            schema = json.load(fh)
        if schema.get("title") == name:
            try:
                jsonschema.validate(json.loads(text), schema)
            except (ValueError, jsonschema.ValidationError) as e:
                raise Fail("not a valid %s (%s): %s" % (name, f, str(e).split("\n")[0]))
            return
    raise Fail("coordsync validate does not know %s, and no schema in coordination/schema/ has that title" % name)


def run_block(sb, b, path, prev_out):
    d = dict(b["dirs"])
    lang = b["lang"]
    if "setup" in d:
        for k, v in b["dirs"]:
            if k == "setup":
                rc, out, err = sb.sh("{ %s\n} 2>&1" % sb.subst(v))
                if rc != 0:
                    raise Fail("setup `%s` exited %d: %s" % (v, rc, out[-800:]))
    if "file" in d:
        dest = sb.subst(d["file"])
        dest = dest if os.path.isabs(dest) else os.path.join(sb.cwd, dest)
        os.makedirs(os.path.dirname(dest), exist_ok=True)
        with open(dest, "w") as f:
            f.write("\n".join(b["body"]) + "\n")
        if lang == "json":
            r = sb.run([CS, "validate", dest], cwd=sb.cwd, check=False)
            if r.returncode != 0 and "not a coordination file" in r.stdout and "run" in d:
                pass   # a file a command reads (jira create FILE): the run: below is its check
            elif r.returncode != 0 and "not a coordination file" in r.stdout:
                # a file coordsync reads but validate does not check: its JSON Schema
                schema_check(d["file"], "\n".join(b["body"]))
            elif r.returncode != 0:
                raise Fail("coordsync validate %s exited %d: %s" % (d["file"], r.returncode, r.stdout.strip()))
        for k, v in b["dirs"]:
            if k == "run":
                rc, out, err = sb.sh(sb.subst(v))
                if rc != 0:
                    raise Fail("run `%s` exited %d: %s%s" % (v, rc, out[-600:], err[-600:]))
        return ""
    if "output-of" in d:
        output_of(sb, b, d["output-of"])
        return ""
    if "nagios" in d:
        # a Nagios command definition: its command_line runs, with $ARGn$ from the directive
        cl = next((x.split("command_line", 1)[1].strip() for x in b["body"] if "command_line" in x), None)
        if not cl:
            raise Fail("no command_line in the nagios block")
        for kv in d["nagios"].split():
            k, _, v = kv.partition("=")
            cl = cl.replace("$%s$" % k, v)
        rc, out, err = sb.sh(sb.subst(cl) + " 2>&1")
        if rc != 0:
            raise Fail("command_line `%s` exited %d (the fleet is healthy): %s" % (cl, rc, out[-600:]))
        return ""
    if "output" in d:
        why = compare_text(b["body"], prev_out or "", loose=False)
        if why:
            raise Fail("the output of the block before: %s" % why)
        return ""
    if lang in ("sh", "bash", "shell"):
        return run_sh(sb, b, path)
    if lang == "sql":
        return run_sql(sb, b)
    if lang == "ini":
        run_units(sb, b)
        return ""
    if lang == "cron":
        run_cron(sb, b, user_field=False)
        return ""
    first = next((x for x in b["body"] if x.strip()), "")
    if lang == "" and first.startswith("$ "):
        run_transcript(sb, b)
        return ""
    if lang == "" and first.startswith("# /etc/cron.d/"):
        run_cron(sb, b, user_field=True)
        return ""
    raise Fail("a %s block with no docs-test directive: mark it (output-of:, file:, figure:, ...)"
               % (lang or "plain"))


def main():
    fails, skipped, count = [], [], 0
    t0 = time.time()
    for path in A.files:
        rel = os.path.relpath(path, SRC) if path.startswith(SRC) else os.path.basename(path)
        sb, prev_out = None, ""
        for n, b in enumerate(blocks(path), 1):
            d = dict(b["dirs"])
            where = "%s:%d: block %d (%s)" % (rel, b["line"], n, b["lang"] or "plain")
            if "figure" in d or "skip" in d:
                kind = "figure" if "figure" in d else "skip"
                why = d.get(kind, "")
                if not why:
                    fails.append("%s: %s without a reason" % (where, kind))
                skipped.append("%s: %s: %s" % (where, kind, why))
                continue
            count += 1
            tb = time.time()
            try:
                inits = set(re.findall(r"init\s.*?--server[= ](\S+)", "\n".join(b["body"]).replace("\\\n", " ")))
                if "continue" not in d or sb is None:
                    # build2's clone, for the blocks that use it (it costs an init)
                    sb = Sandbox(inits, any("fleet/build2" in v for k, v in b["dirs"]))
                prev_out = run_block(sb, b, path, prev_out)
                if A.v:
                    print("ok %s" % where)
            except Fail as e:
                fails.append("%s: %s" % (where, e))
            except subprocess.TimeoutExpired as e:
                fails.append("%s: timed out: %s" % (where, e))
            if time.time() - tb > 2:
                print("slow: %s: %.1f s" % (where, time.time() - tb))
    for s in skipped:
        print("not run: " + s)
    for f in fails:
        print("FAIL " + f, file=sys.stderr)
    if "proc" in JIRA:
        JIRA["proc"].terminate()
        JIRA["proc"].wait(timeout=10)
    print("%d blocks run, %d failed, %d not run (figures or skipped, above), %.1f s"
          % (count, len(fails), len(skipped), time.time() - t0))
    return 1 if fails else 0


sys.exit(main())
