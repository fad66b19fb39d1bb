package io.unwedge.daemon.http;

import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.Objects;

/**
 * Where the metrics endpoint listens ({@code [daemon] metrics_listen}, {@code --metrics-listen}): an IP
 * address and a port, or {@link Off}. Written {@code "127.0.0.1:9464"}, {@code "[::1]:9464"} or {@code "off"}.
 *
 * <p>Only IP literals (and {@code localhost}, taken as 127.0.0.1 without asking a resolver): whether an
 * address is loopback decides whether it may be used at all, and a host name would need a DNS lookup that
 * could give another answer tomorrow.
 */
public sealed interface ListenAddress {

    /** The endpoint is not served. */
    record Off() implements ListenAddress {
        @Override
        public String toString() {
            return "off";
        }
    }

    /** @param port 0: any free port (the log says which) */
    record At(InetAddress host, int port) implements ListenAddress {
        public At {
            Objects.requireNonNull(host);
            if (port < 0 || port > 65535) throw new IllegalArgumentException("port " + port + " is not 0 to 65535");
        }

        /** 127.0.0.0/8 or ::1: reachable from this host only. */
        public boolean isLoopback() {
            return host.isLoopbackAddress();
        }

        public InetSocketAddress socketAddress() {
            return new InetSocketAddress(host, port);
        }

        @Override
        public String toString() {
            return format(host, port);
        }
    }

    ListenAddress OFF = new Off();

    /** {@code 127.0.0.1:9464}: Prometheus' registered port for exporters of this kind, on loopback only. */
    At DEFAULT = new At(ipv4("127.0.0.1"), 9464);

    /** Why a remote address is refused unless asked for; the config reader, the option and the server say it. */
    String REMOTE_REFUSED = "the endpoint has no authentication and tells whoever reaches it how many GPUs this host has, "
            + "how their recoveries went and which are quarantined";

    /**
     * {@code host:port}, {@code [v6]:port} or {@code off}.
     *
     * @throws IllegalArgumentException what is wrong with {@code text}, in words (without an example: callers add theirs)
     */
    static ListenAddress parse(String text) {
        Objects.requireNonNull(text);
        if (text.equals("off")) return OFF;
        if (text.isEmpty()) throw new IllegalArgumentException("is empty: give host:port, or \"off\" for no endpoint");
        String host;
        String port;
        if (text.startsWith("[")) {
            int close = text.indexOf("]:");
            if (close < 0) throw new IllegalArgumentException("is " + quote(text) + ": an IPv6 address in brackets needs a port after it, [address]:port");
            host = text.substring(1, close);
            port = text.substring(close + 2);
        } else {
            int colon = text.lastIndexOf(':');
            if (colon < 0) throw new IllegalArgumentException("is " + quote(text) + ", which has no port: give host:port");
            host = text.substring(0, colon);
            port = text.substring(colon + 1);
            if (host.indexOf(':') >= 0) throw new IllegalArgumentException("is " + quote(text) + ": an IPv6 address goes in brackets, [address]:port");
        }
        return new At(address(text, host), port(text, port));
    }

    private static InetAddress address(String text, String host) {
        if (host.equals("localhost")) return ipv4("127.0.0.1");
        // dotted quad, strictly: InetAddress.ofLiteral would also take 127.1
        if (host.matches("[0-9]{1,3}(\\.[0-9]{1,3}){3}")) {
            for (var part : host.split("\\.")) {
                if (Integer.parseInt(part) > 255) throw new IllegalArgumentException("is " + quote(text) + ": " + host + " is not an IPv4 address");
            }
            return ipv4(host);
        }
        if (host.indexOf(':') >= 0) {
            try {
                return Inet6Address.ofLiteral(host);
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("is " + quote(text) + ": " + host + " is not an IPv6 address");
            }
        }
        throw new IllegalArgumentException("is " + quote(text) + ": " + (host.isEmpty() ? "the address is missing"
                : quote(host) + " is not an IP address (a host name would need a DNS lookup to tell whether it is loopback)"));
    }

    private static int port(String text, String port) {
        if (!port.matches("[0-9]{1,5}") || Integer.parseInt(port) > 65535) {
            throw new IllegalArgumentException("is " + quote(text) + ": the port must be a number from 0 to 65535" + (port.isEmpty() ? ", and is missing" : ""));
        }
        return Integer.parseInt(port);
    }

    private static InetAddress ipv4(String dotted) {
        return Inet4Address.ofLiteral(dotted);
    }

    /** {@code 127.0.0.1:9464}, {@code [::1]:9464}. */
    static String format(InetAddress host, int port) {
        String h = host.getHostAddress();
        return (host instanceof Inet6Address ? "[" + h.replaceFirst("%.*$", "") + "]" : h) + ":" + port;
    }

    private static String quote(String s) {
        return '"' + s.replace("\\", "\\\\").replace("\"", "\\\"") + '"';
    }
}
