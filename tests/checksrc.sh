#!/bin/sh
# checksrc.sh [ROOT]: the source rules a test enforces, in the spirit of curl's
# checksrc.  It reads ROOT/engine (with engine/include/coordsync) and ROOT/cli
# (ROOT defaults to this script's tree) and prints one line per finding,
# `file:line: rule: text`; it exits 1 when there is any, 0 when there is none.
#
# Rules:
#   layer      an #include of a header of a higher layer than the including
#              file (table below; a .c file has its own header's layer, a
#              module without a header has a row of its own); an engine
#              header missing from the table; an engine file including a cli
#              header; a cli file including anything quoted but a public
#              header (coordsync/*.h) or a cli/*.h; a public header including
#              an internal one.
#   sql-in-cli a string literal in cli/ that begins with an SQL statement:
#              SQL lives in the engine (queries/, schema/, the modules).
#   sql-format the format string of a printf-family call (a name holding
#              "printf": snprintf, sb_printf, sqlite3_mprintf...; adjacent
#              literals joined) holding SQL and a conversion (%s, %d, %lld,
#              %q...), in engine/ and cli/: values go in as bound parameters,
#              never into the text.
#   banned     a call of a function in BANNED below.  strncpy is banned too:
#              it does not terminate a string it truncates and pads the rest
#              with NULs; memcpy with a length checked, snprintf or util_strdup
#              say what is meant.
#   cjson-case a cJSON member lookup that ignores case (cJSON_GetObjectItem,
#              cJSON_HasObjectItem, cJSON_DetachItemFromObject,
#              cJSON_DeleteItemFromObject, cJSON_ReplaceItemInObject): JSON
#              member names are case-sensitive; use the ...CaseSensitive form.
# Comments are not checked; string literals only by the two sql rules.
# A finding that is meant (an identifier from a static table formatted into
# SQL, say) is kept quiet by a comment `checksrc: allow RULE` on its line or
# the line above, with the reason beside it.

# The layers, lowest first: `name layer`, one a line.  A name is a header
# (x.h) or a module without a header of its own (x: its x.c).  A file may
# include headers of its own layer or lower.  Public headers (coordsync/*.h)
# are layer 0.  A layer of `-` leaves a name unchecked.
LAYERS='
ctx.h 0
util.h 0
fault.h 0
json.h 0
json_int.h 0
embedded.h 0

db.h 1
clock.h 1
secret.h 1
proc.h 1
config.h 1
curl.h 1

net.h 2
shared.h 2
cred.h 2
tree.h 2
texts.h 2
transport.h 2
sign.h 2
worktree.h 2

kinds.h 3
values.h 3
import.h 3
export.h 3
history.h 3
identity.h 3

handle.h 4
idprefix 4
mirror.h 4

decide.h 5
lockstate.h 5

intent.h 6
outbox.h 6

sync 7
validate 7
msglog.h 7

locks 8
jobs 8
msgs.h 8
autoreply 8

health 9
alert.h 9
jira.h 9

query_int.h 10
query 10

report 11

maint 12
jirasync 12
jiraops 12

cycle 13
'

BANNED='strcpy strcat strncpy sprintf vsprintf gets strtok atoi atol atoll atof'

self=$(cd "$(dirname "$0")" && pwd)/$(basename "$0")
root=${1:-$(dirname "$self")/..}
[ -d "$root/engine" ] || { echo "checksrc.sh: no engine/ in $root" >&2; exit 2; }
export LAYERS BANNED
cd "$root" && exec perl -x "$self" engine/*.c engine/*.h engine/include/coordsync/*.h cli/*.c cli/*.h
exit 2

#!perl
use strict;
use warnings;

my %layer;
for (split /\n/, $ENV{LAYERS}) {
	next unless /\S/;
	my ($name, $l) = split;
	$name =~ s/\.h$//;
	$layer{$name} = $l;
}
my $banned = join '|', split ' ', $ENV{BANNED};
my $kw = qr/(?:SELECT|INSERT|UPDATE|DELETE|WITH|CREATE|PRAGMA|DROP|ALTER|REPLACE|BEGIN|COMMIT|ROLLBACK|SAVEPOINT|RELEASE|VACUUM|ANALYZE|ATTACH|DETACH|EXPLAIN|REINDEX)/;
my $sql = qr/\b(?:SELECT\b.*\bFROM|INSERT\s+(?:OR\s+\w+\s+)?INTO|UPDATE\s+\S+\s+SET|DELETE\s+FROM|WHERE|VALUES\s*\(|CREATE\s+(?:TEMP\w*\s+)?(?:TABLE|INDEX|VIEW|TRIGGER)|PRAGMA\s+\w|ORDER\s+BY|GROUP\s+BY)\b/;
my $conv = qr/%[-+ #0']*(?:\d+|\*)?(?:\.(?:\d+|\*))?(?:hh|h|ll|l|j|z|t|L)?[diouxXeEfgGcsqQwp]/;
# the code before a literal that is an argument of an open printf-family call
my $fmtcall = qr/\b\w*printf\w*\s*\((?:[^;{}()]|\([^;{}()]*\))*\z/;
my %cli_h = map { s{^cli/}{}r => 1 } grep { m{^cli/.*\.h$} } @ARGV;
my $found = 0;

my @srclines;

sub finding {
	my ($file, $line, $rule, $text) = @_;
	for my $l ($line - 1, $line - 2) {
		return if $l >= 0 && defined $srclines[$l] && $srclines[$l] =~ /checksrc: allow \Q$rule\E\b/;
	}
	print "$file:$line: $rule: $text\n";
	$found++;
}

for my $file (@ARGV) {
	next unless -f $file;
	open my $fh, '<', $file or die "$file: $!\n";
	my $src = do { local $/; <$fh> };
	close $fh;
	@srclines = split /\n/, $src, -1;

	# One pass over the text: the code with comments and the insides of
	# literals blanked (newlines kept, so lines still count), and the string
	# literals with their lines, adjacent ones joined.
	my ($code, @lits, $cur) = ('');
	my $line = 1;
	my $i = 0;
	my $n = length $src;
	while ($i < $n) {
		my $c = substr $src, $i, 1;
		my $two = substr $src, $i, 2;
		if ($two eq '/*') {
			my $end = index $src, '*/', $i + 2;
			$end = $n - 2 if $end < 0;
			my $com = substr $src, $i, $end + 2 - $i;
			(my $blank = $com) =~ s/[^\n]/ /g;
			$code .= $blank;
			$line += ($com =~ tr/\n//);
			$i = $end + 2;
		} elsif ($two eq '//') {
			my $end = index $src, "\n", $i;
			$end = $n if $end < 0;
			$i = $end;
		} elsif ($c eq '"' || $c eq "'") {
			my $j = $i + 1;
			my $text = '';
			while ($j < $n && substr($src, $j, 1) ne $c) {
				my $d = substr $src, $j, 1;
				if ($d eq '\\') {
					$text .= substr $src, $j, 2;
					$j += 2;
					next;
				}
				last if $d eq "\n";
				$text .= $d;
				$j++;
			}
			if ($c eq '"') {
				if ($cur && $code =~ /"\s*\z/) {
					$cur->{text} .= $text;
				} else {
					$cur = {line => $line, text => $text, pre => substr($code, -400)};
					push @lits, $cur;
				}
			}
			$code .= $c . (' ' x length $text) . $c;
			$i = $j + 1;
		} else {
			$code .= $c;
			$line++ if $c eq "\n";
			$i++;
		}
	}

	my $is_cli = $file =~ m{^cli/};
	my $is_pub = $file =~ m{^engine/include/};
	(my $mod = $file) =~ s{.*/}{};
	$mod =~ s/\.[ch]$//;
	my $mine = $is_pub ? 0 : $layer{$mod};
	if (!$is_cli && !$is_pub && !defined $mine) {
		finding($file, 1, 'layer', "$mod has no layer in checksrc.sh's table");
	}

	my @lines = split /\n/, $code, -1;
	for my $k (0 .. $#lines) {
		my $ln = $k + 1;
		$_ = $lines[$k];
		if (/^\s*#\s*include\s*"/) {
			my ($inc) = $srclines[$k] =~ /#\s*include\s*"([^"]+)"/;
			next unless defined $inc;
			my $public = $inc =~ m{^coordsync/};
			if ($is_cli) {
				finding($file, $ln, 'layer', "cli/ includes \"$inc\": only coordsync/*.h and cli/*.h")
					unless $public || $cli_h{$inc};
			} elsif ($is_pub) {
				finding($file, $ln, 'layer', "public header includes internal \"$inc\"")
					unless $public;
			} elsif ($cli_h{$inc} && !-f "engine/$inc") {
				finding($file, $ln, 'layer', "engine file includes cli header \"$inc\"");
			} elsif (!$public) {
				(my $m = $inc) =~ s/\.h$//;
				my $l = $layer{$m};
				if (!defined $l) {
					finding($file, $ln, 'layer', "\"$inc\" has no layer in checksrc.sh's table");
				} elsif (defined $mine && $mine ne '-' && $l ne '-' && $l > $mine) {
					finding($file, $ln, 'layer', "\"$inc\" (layer $l) above $mod (layer $mine)");
				}
			}
			next;
		}
		finding($file, $ln, 'banned', "$1() is banned")
			while /\b($banned)\s*\(/g;
		finding($file, $ln, 'cjson-case', "$1 ignores case; use ${1}CaseSensitive")
			while /\b(cJSON_(?:GetObjectItem|HasObjectItem|DetachItemFromObject|DeleteItemFromObject|ReplaceItemInObject))\s*\(/g;
	}

	for my $lit (@lits) {
		my $t = $lit->{text};
		if ($is_cli && $t =~ /^\s*($kw)\s/) {
			finding($file, $lit->{line}, 'sql-in-cli', "SQL in cli/: \"" . substr($t, 0, 40) . '"');
		}
		(my $noesc = $t) =~ s/%%//g;
		if ($lit->{pre} =~ $fmtcall && $t =~ $sql && $noesc =~ /($conv)/) {
			finding($file, $lit->{line}, 'sql-format', "$1 formatted into SQL: \"" . substr($t, 0, 40) . '"');
		}
	}
}
exit($found ? 1 : 0);
