package io.unwedge.daemon.http;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.InetAddress;
import org.junit.jupiter.api.Test;

class ListenAddressTest {

    static ListenAddress.At at(String text) {
        return (ListenAddress.At) ListenAddress.parse(text);
    }

    @Test
    void ipv4Ipv6LocalhostAndOff() throws Exception {
        assertThat(ListenAddress.parse("off")).isEqualTo(ListenAddress.OFF);
        assertThat(at("127.0.0.1:9464")).isEqualTo(ListenAddress.DEFAULT);
        assertThat(at("localhost:9464")).isEqualTo(ListenAddress.DEFAULT);
        assertThat(at("[::1]:19464").host()).isEqualTo(InetAddress.getByName("::1"));
        assertThat(at("[::1]:19464").port()).isEqualTo(19464);
        assertThat(at("10.0.0.7:0").port()).isZero();
    }

    @Test
    void whatIsLoopback() {
        assertThat(at("127.0.0.1:1").isLoopback()).isTrue();
        assertThat(at("127.3.4.5:1").isLoopback()).isTrue();
        assertThat(at("[::1]:1").isLoopback()).isTrue();
        assertThat(at("0.0.0.0:1").isLoopback()).isFalse();
        assertThat(at("[::]:1").isLoopback()).isFalse();
        assertThat(at("192.168.1.10:1").isLoopback()).isFalse();
    }

    @Test
    void toStringReadsBackToTheSameAddress() {
        for (var s : new String[] {"127.0.0.1:9464", "[::1]:9464", "10.1.2.3:65535", "off"}) {
            var a = ListenAddress.parse(s);
            assertThat(ListenAddress.parse(a.toString())).as(s).isEqualTo(a);
        }
        assertThat(ListenAddress.DEFAULT.toString()).isEqualTo("127.0.0.1:9464");
        assertThat(at("[::1]:9").toString()).isEqualTo("[0:0:0:0:0:0:0:1]:9");
    }

    @Test
    void badInputSaysWhatIsWrong() {
        assertThatThrownBy(() -> ListenAddress.parse("")).hasMessageContaining("is empty");
        assertThatThrownBy(() -> ListenAddress.parse("9464")).hasMessageContaining("\"9464\", which has no port");
        assertThatThrownBy(() -> ListenAddress.parse("127.0.0.1")).hasMessageContaining("has no port");
        assertThatThrownBy(() -> ListenAddress.parse(":9464")).hasMessageContaining("the address is missing");
        assertThatThrownBy(() -> ListenAddress.parse("127.0.0.1:")).hasMessageContaining("port must be a number from 0 to 65535, and is missing");
        assertThatThrownBy(() -> ListenAddress.parse("127.0.0.1:65536")).hasMessageContaining("from 0 to 65535");
        assertThatThrownBy(() -> ListenAddress.parse("127.0.0.1:-1")).hasMessageContaining("from 0 to 65535");
        assertThatThrownBy(() -> ListenAddress.parse("127.0.0.1:http")).hasMessageContaining("from 0 to 65535");
        assertThatThrownBy(() -> ListenAddress.parse("256.0.0.1:9464")).hasMessageContaining("256.0.0.1 is not an IPv4 address");
        assertThatThrownBy(() -> ListenAddress.parse("127.1:9464")).hasMessageContaining("\"127.1\" is not an IP address");
        assertThatThrownBy(() -> ListenAddress.parse("metrics.example.com:9464")).hasMessageContaining("a host name would need a DNS lookup");
        assertThatThrownBy(() -> ListenAddress.parse("::1:9464")).hasMessageContaining("an IPv6 address goes in brackets");
        assertThatThrownBy(() -> ListenAddress.parse("[::1]")).hasMessageContaining("needs a port after it");
        assertThatThrownBy(() -> ListenAddress.parse("[::zz]:9")).hasMessageContaining("::zz is not an IPv6 address");
        assertThatThrownBy(() -> ListenAddress.parse("OFF")).hasMessageContaining("has no port");
    }
}
