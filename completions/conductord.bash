_conductord() {
    local i cur prev opts cmd
    COMPREPLY=()
    if [[ "${BASH_VERSINFO[0]}" -ge 4 ]]; then
        cur="$2"
    else
        cur="${COMP_WORDS[COMP_CWORD]}"
    fi
    prev="$3"
    cmd=""
    opts=""

    for i in "${COMP_WORDS[@]:0:COMP_CWORD}"
    do
        case "${cmd},${i}" in
            ",$1")
                cmd="conductord"
                ;;
            *)
                ;;
        esac
    done

    case "${cmd}" in
        conductord)
            opts="-h -V --config --print-config --import-properties --system --socket --listen --tls-cert --tls-key --insecure-listen --metrics-public --state-dir --store --log-file --node --node-name --cpus --mem --gpus --gpu-files --kill-wait --node-timeout --requeue-delay --enforce-part-limits --min-job-age --history-days --partition --partition-def --max-jobs-per-user --max-tres-per-user --operator --containment --cpu-bind --def-mem-per-cpu --max-job-count --first-job-id --time-limit-unit --max-submit-per-user --max-submit-jobs-per-user --max-array-size --scheduler-type --bf-window --bf-max-job-test --priority-type --priority-weight-age --priority-weight-fairshare --priority-weight-job-size --priority-weight-partition --priority-max-age --priority-decay-half-life --priority-calc-period --tres-billing-weights --fairshare-shares --max-connections --max-connections-per-user --idle-timeout --request-timeout --launcher --help --version"
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 1 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                --config)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --import-properties)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --socket)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --listen)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --tls-cert)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --tls-key)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --state-dir)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --store)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --log-file)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --node-name)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --node)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --cpus)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --mem)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --gpus)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --gpu-files)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --kill-wait)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --node-timeout)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --requeue-delay)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --min-job-age)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --history-days)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --partition)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --partition-def)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --max-jobs-per-user)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --max-tres-per-user)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --operator)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --containment)
                    COMPREPLY=($(compgen -W "auto cgroup2 cgroup1 none" -- "${cur}"))
                    return 0
                    ;;
                --cpu-bind)
                    COMPREPLY=($(compgen -W "cores none" -- "${cur}"))
                    return 0
                    ;;
                --def-mem-per-cpu)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --max-job-count)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --first-job-id)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --time-limit-unit)
                    COMPREPLY=($(compgen -W "minutes seconds" -- "${cur}"))
                    return 0
                    ;;
                --max-submit-jobs-per-user)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --max-submit-per-user)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --max-array-size)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --scheduler-type)
                    COMPREPLY=($(compgen -W "backfill builtin" -- "${cur}"))
                    return 0
                    ;;
                --bf-window)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --bf-max-job-test)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --priority-type)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --priority-weight-age)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --priority-weight-fairshare)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --priority-weight-job-size)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --priority-weight-partition)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --priority-max-age)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --priority-decay-half-life)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --priority-calc-period)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --tres-billing-weights)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --fairshare-shares)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --max-connections)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --max-connections-per-user)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --idle-timeout)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --request-timeout)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --launcher)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
    esac
}

if [[ "${BASH_VERSINFO[0]}" -eq 4 && "${BASH_VERSINFO[1]}" -ge 4 || "${BASH_VERSINFO[0]}" -gt 4 ]]; then
    complete -F _conductord -o nosort -o bashdefault -o default conductord
else
    complete -F _conductord -o bashdefault -o default conductord
fi
