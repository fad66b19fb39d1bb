# Sourced by ./unwedge and ./run-tests: picks the JDK (25 or newer) and exports JAVA_HOME.
# JAVA_HOME when it is 25+, else the newest JDK >= 25 under /usr/lib/jvm (read from each JDK's
# `release` file), else a clear error naming what to install.

_unwedge_jdk_major() { # $1: a JDK home; prints its feature version or nothing
    local v
    v=$(sed -n 's/^JAVA_VERSION="\([0-9]*\).*/\1/p' "$1/release" 2>/dev/null | head -n1)
    if [ -n "$v" ] && [ -x "$1/bin/java" ]; then echo "$v"; fi
}

unwedge_find_jdk() {
    local want=25 best="" best_v=0 d v
    if [ -n "${JAVA_HOME:-}" ]; then
        v=$(_unwedge_jdk_major "$JAVA_HOME")
        if [ -n "$v" ] && [ "$v" -ge "$want" ]; then export JAVA_HOME; return 0; fi
    fi
    for d in /usr/lib/jvm/*/; do
        d=${d%/}
        [ -L "$d" ] && continue
        v=$(_unwedge_jdk_major "$d")
        if [ -n "$v" ] && [ "$v" -ge "$want" ] && [ "$v" -gt "$best_v" ]; then best=$d; best_v=$v; fi
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
