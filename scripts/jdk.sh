# Sourced by ./unwedge and ./run-tests: picks the JDK (25 or newer) and exports JAVA_HOME.
# JAVA_HOME when it is 25+, else the newest JDK >= 25 under /usr/lib/jvm (read from each JDK's
# `release` file), else a clear error naming what to install.

# Builtins only: ./unwedge runs this before every command, where each fork and exec shows.
_unwedge_release() { # $1: a JDK home, $2: a key of its release file; sets REPLY to the value, unquoted
    local line
    REPLY=""
    [ -r "$1/release" ] || return 0
    while IFS= read -r line || [ -n "$line" ]; do
        case $line in "$2="*) line=${line#"$2="}; line=${line#\"}; REPLY=${line%\"}; return 0 ;; esac
    done < "$1/release"
}

_unwedge_jdk_major() { # $1: a JDK home; sets REPLY to its feature version, or "" when it is no JDK
    _unwedge_release "$1" JAVA_VERSION
    REPLY=${REPLY%%[!0-9]*}
    [ -x "$1/bin/java" ] || REPLY=""
}

unwedge_find_jdk() {
    local want=25 best="" best_v=0 d
    if [ -n "${JAVA_HOME:-}" ]; then
        _unwedge_jdk_major "$JAVA_HOME"
        if [ -n "$REPLY" ] && [ "$REPLY" -ge "$want" ]; then export JAVA_HOME; return 0; fi
    fi
    for d in /usr/lib/jvm/*/; do
        d=${d%/}
        [ -L "$d" ] && continue
        _unwedge_jdk_major "$d"
        if [ -n "$REPLY" ] && [ "$REPLY" -ge "$want" ] && [ "$REPLY" -gt "$best_v" ]; then best=$d; best_v=$REPLY; fi
    done
    if [ -z "$best" ]; then
        echo "unwedge: needs a JDK $want or newer; JAVA_HOME is '${JAVA_HOME:-unset}' and /usr/lib/jvm has none." >&2
        echo "unwedge: install one (e.g. apt-get install temurin-25-jdk, or openjdk-25-jdk) or point JAVA_HOME at it." >&2
        return 1
    fi
    export JAVA_HOME=$best
}

unwedge_need_maven() {
    command -v mvn >/dev/null 2>&1 && return 0
    echo "unwedge: needs Apache Maven (apt-get install maven) to build." >&2
    return 1
}
