# fish completion for cprof.
#
# Thin on purpose: every name comes from the binary being completed.
#   cprof --list-cmds          subcommand names, one per line
#                              (today: record heap serve agent attach report convert flame strace-lite symbolize;
#                              tests/tools/check-docs.sh keeps this line true)
#   cprof SUB --list-opts      one option per line: "--long[=] [-s] [hint]",
#                              hint = file | dir | pid | cmd | a|b|c
# Command summaries and the global flags come from `cprof -h`.  Nothing here
# lists an option, so adding one to a command's table is enough.
#
# Install as share/fish/vendor_completions.d/cprof.fish.

function __cprof_bin
    set -l bin (commandline -opc)[1]
    if command -q -- $bin; or test -x "$bin"
        echo $bin
    else
        echo cprof
    end
end

# The subcommand on the command line (empty when none yet).
function __cprof_sub
    for w in (commandline -opc)[2..-1]
        if not string match -q -- '-*' $w
            echo $w
            return 0
        end
    end
    return 1
end

# __cprof_hint OPT: print "1 HINT" or "0 HINT" (takes an argument or not)
# for --long or -s, from `cprof SUB --list-opts`.
function __cprof_hint -a bin sub want
    for line in ($bin $sub --list-opts 2>/dev/null)
        set -l f (string split -n ' ' -- $line)
        set -l long $f[1]
        set -l short
        set -l hint
        if string match -qr -- '^-.$' "$f[2]"
            set short $f[2]
            set hint $f[3]
        else
            set hint $f[2]
        end
        set -l arg 0
        string match -q -- '*=' $long; and set arg 1
        set long (string replace -r -- '=$' '' $long)
        if test "$want" = "$long"; or begin
                test -n "$short"; and test "$want" = "$short"
            end
            echo $arg $hint
            return 0
        end
    end
    return 1
end

# __cprof_value HINT CUR: candidates for an option's argument.
function __cprof_value -a hint cur
    switch "$hint"
        case file
            __fish_complete_path $cur
        case dir
            __fish_complete_directories $cur
        case pid
            __fish_complete_pids
        case cmd
            __fish_complete_command
        case '*|*'
            string split '|' -- $hint
    end
end

function __cprof_complete
    set -l bin (__cprof_bin)
    set -l tokens (commandline -opc)
    set -l cur (commandline -ct)
    set -l sub (__cprof_sub)

    if test -z "$sub"
        if string match -q -- '-*' $cur
            # the dashed words of the usage line
            for w in (string split ' ' -- (string replace -ra '[\[\]|]' ' ' -- ($bin -h 2>/dev/null)[1]))
                string match -q -- '-*' $w; and echo $w
            end
        else
            for name in ($bin --list-cmds 2>/dev/null)
                set -l desc (string match -r -- "^\s+$name\s+(.*)" ($bin -h 2>/dev/null))[2]
                printf '%s\t%s\n' $name "$desc"
            end
            printf '%s\t%s\n' help 'show the manual page of a command'
        end
        return
    end
    if test "$sub" = help
        test (count $tokens) -le 2; or return
        $bin --list-cmds 2>/dev/null
        return
    end

    # Find the subcommand's position, then walk the words after it: after
    # `--` or the first operand of `record` the rest is the profiled command.
    set -l i 1
    while test $i -le (count $tokens)
        test "$tokens[$i]" = "$sub"; and break
        set i (math $i + 1)
    end
    set -l skip 0
    set -l cmdstart 0
    for j in (seq (math $i + 1) (count $tokens))
        set -l w $tokens[$j]
        if test $skip = 1
            set skip 0
            continue
        end
        switch $w
            case --
                set cmdstart (math $j + 1)
                break
            case '--*=*'
            case '-*'
                set -l spec (__cprof_hint $bin $sub $w)
                test (string split ' ' -- "$spec")[1] = 1; and set skip 1
            case '*'
                if test "$sub" = record
                    set cmdstart $j
                    break
                end
        end
    end
    if test $cmdstart -gt 0
        if test $cmdstart -gt (count $tokens)
            __fish_complete_command
        else
            complete -C (string join ' ' -- (string escape -- $tokens[$cmdstart..-1]) $cur)
        end
        return
    end

    # An option's argument: "--opt=VAL", "--opt VAL" or "-o VAL".
    if string match -q -- '--*=*' $cur
        set -l opt (string split -m 1 '=' -- $cur)
        set -l spec (__cprof_hint $bin $sub $opt[1])
        set -l hint (string split -m 1 ' ' -- "$spec")[2]
        for v in (__cprof_value "$hint" "$opt[2]")
            echo "$opt[1]=$v"
        end
        return
    end
    set -l prev $tokens[-1]
    if string match -q -- '-*' $prev; and test "$prev" != --
        set -l spec (__cprof_hint $bin $sub $prev)
        set -l f (string split -m 1 ' ' -- "$spec")
        if test "$f[1]" = 1
            __cprof_value "$f[2]" "$cur"
            return
        end
    end

    if string match -q -- '-*' $cur
        for line in ($bin $sub --list-opts 2>/dev/null)
            set -l f (string split -n ' ' -- $line)
            string replace -r -- '=$' '' $f[1]
            if string match -qr -- '^-.$' "$f[2]"
                echo $f[2]
            end
        end
        test "$sub" = record; and echo --
        return
    end
    if test "$sub" = record
        __fish_complete_command
    else
        __fish_complete_path $cur
    end
end

complete -c cprof -e
complete -c cprof -f -a '(__cprof_complete)'
