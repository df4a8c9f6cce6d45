# bash completion for cprof                                -*- shell-script -*-
#
# Thin on purpose: every name comes from the binary being completed.
#   cprof --list-cmds          subcommand names, one per line
#                              (today: record heap serve agent attach report convert flame strace-lite symbolize;
#                              tests/tools/check-docs.sh keeps this line true)
#   cprof SUB --list-opts      one option per line: "--long[=] [-s] [hint]",
#                              hint = file | dir | pid | cmd | a|b|c
# The global flags are read from the first line of `cprof -h`.  Nothing
# here lists an option, so adding one to a command's table is enough.
#
# Install as share/bash-completion/completions/cprof, or source it.

# The binary the user is completing for (./build/cprof works too).
_cprof_bin()
{
	local bin=${COMP_WORDS[0]}
	bin=${bin/#\~/$HOME}
	command -v "$bin" >/dev/null 2>&1 || bin=cprof
	printf '%s\n' "$bin"
}

# _cprof_compgen COMPGEN-ARGS... : append compgen's candidates to COMPREPLY.
# IFS is a newline, so -W word lists are newline-separated and file names
# with spaces survive.
_cprof_compgen()
{
	local IFS=$'\n'
	# shellcheck disable=SC2207
	COMPREPLY+=($(compgen "$@"))
}

# _cprof_value HINT CUR: complete an option's argument from its hint.
_cprof_value()
{
	local hint=$1 cur=$2
	case $hint in
	file)
		compopt -o filenames 2>/dev/null
		_cprof_compgen -f -- "$cur"
		;;
	dir)
		compopt -o filenames 2>/dev/null
		_cprof_compgen -d -- "$cur"
		;;
	pid)
		_cprof_compgen -W "$(cd /proc 2>/dev/null && printf '%s\n' [0-9]*)" -- "$cur"
		;;
	cmd)
		_cprof_compgen -c -- "$cur"
		;;
	*'|'*)
		_cprof_compgen -W "${hint//|/$'\n'}" -- "$cur"
		;;
	esac
}

# _cprof_hint OPT: print "takes-arg hint" for OPT (a long or a short option) from
# the --list-opts lines in $opts; prints nothing for an unknown option.
_cprof_hint()
{
	local want=$1 line long short hint arg
	while read -r line; do
		# shellcheck disable=SC2086
		set -- $line
		long=$1 short='' hint=''
		shift
		if [[ ${1-} == -? ]]; then
			short=$1
			shift
		fi
		hint=${1-}
		arg=0
		[[ $long == *= ]] && arg=1
		long=${long%=}
		if [[ $want == "$long" || ( -n $short && $want == "$short" ) ]]; then
			printf '%s %s\n' "$arg" "$hint"
			return
		fi
	done <<<"$opts"
}

_cprof()
{
	local bin cur prev sub subidx i w opts
	COMPREPLY=()
	bin=$(_cprof_bin)
	cur=${COMP_WORDS[COMP_CWORD]}
	prev=${COMP_WORDS[COMP_CWORD - 1]}

	# The subcommand: the first word after cprof that is not a flag.
	sub='' subidx=0
	for ((i = 1; i < COMP_CWORD; i++)); do
		w=${COMP_WORDS[i]}
		if [[ $w != -* ]]; then
			sub=$w subidx=$i
			break
		fi
	done

	if [[ -z $sub ]]; then
		if [[ $cur == -* ]]; then
			_cprof_compgen -W "$("$bin" -h 2>/dev/null | head -n 1 |
				grep -oE -- '--?[[:alnum:]][[:alnum:]-]*')" -- "$cur"
		else
			_cprof_compgen -W "$("$bin" --list-cmds 2>/dev/null)"$'\n'help -- "$cur"
		fi
		return 0
	fi
	if [[ $sub == help ]]; then
		((COMP_CWORD == subidx + 1)) &&
			_cprof_compgen -W "$("$bin" --list-cmds 2>/dev/null)" -- "$cur"
		return 0
	fi

	opts=$("$bin" "$sub" --list-opts 2>/dev/null) || opts=
	local hint argopt spec

	# Walk the words before the cursor: after `--` or the first operand of
	# `record`, the rest is the profiled command line.
	local cmdidx=0 skip=0
	for ((i = subidx + 1; i < COMP_CWORD; i++)); do
		w=${COMP_WORDS[i]}
		if ((skip)); then
			skip=0
			continue
		fi
		case $w in
		--)
			cmdidx=$((i + 1))
			break
			;;
		=)
			skip=1 # the value after a split "--opt=" word
			;;
		--*=*) ;;
		-*)
			spec=$(_cprof_hint "$w")
			[[ ${spec%% *} == 1 && ${COMP_WORDS[i + 1]-} != = ]] && skip=1
			;;
		*)
			if [[ $sub == record ]]; then
				cmdidx=$i
				break
			fi
			;;
		esac
	done
	if ((cmdidx)); then
		if ((cmdidx == COMP_CWORD)); then
			_cprof_compgen -c -- "$cur"
		elif declare -F _command_offset >/dev/null; then
			_command_offset "$cmdidx"
		else
			compopt -o default 2>/dev/null
		fi
		return 0
	fi

	# An option's argument: "--opt=VAL" (split at '=' by readline, or not),
	# "--opt VAL" or "-o VAL".
	argopt=
	if [[ $cur == = ]]; then
		argopt=$prev cur=
	elif [[ $prev == = ]] && ((COMP_CWORD >= 2)); then
		argopt=${COMP_WORDS[COMP_CWORD - 2]}
	elif [[ $cur == --*=* ]]; then
		# '=' is not in COMP_WORDBREAKS: complete the whole word
		spec=$(_cprof_hint "${cur%%=*}")
		hint=${spec#* }
		local pre=${cur%%=*}= n=${#COMPREPLY[@]}
		_cprof_value "$hint" "${cur#*=}"
		for ((i = n; i < ${#COMPREPLY[@]}; i++)); do
			COMPREPLY[i]=$pre${COMPREPLY[i]}
		done
		return 0
	elif [[ $prev == -* ]]; then
		spec=$(_cprof_hint "$prev")
		[[ ${spec%% *} == 1 ]] && argopt=$prev
	fi
	if [[ -n $argopt ]]; then
		spec=$(_cprof_hint "$argopt")
		_cprof_value "${spec#* }" "$cur"
		return 0
	fi

	if [[ $cur == -* ]]; then
		local line long short words=
		while read -r line; do
			# shellcheck disable=SC2086
			set -- $line
			long=${1-}
			short=${2-}
			words+=$long$'\n'
			[[ $cur == - && $short == -? ]] && words+=$short$'\n'
		done <<<"$opts"
		[[ $sub == record ]] && words+=--
		_cprof_compgen -W "$words" -- "$cur"
		# a lone "--opt=" candidate waits for its value in the same word
		[[ ${#COMPREPLY[@]} -eq 1 && ${COMPREPLY[0]} == *= ]] && compopt -o nospace 2>/dev/null
		return 0
	fi

	if [[ $sub == record ]]; then
		_cprof_compgen -c -- "$cur"
	else
		compopt -o filenames 2>/dev/null
		_cprof_compgen -f -- "$cur"
	fi
	return 0
}
complete -F _cprof cprof
