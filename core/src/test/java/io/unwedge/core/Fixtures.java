package io.unwedge.core;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/** Wedge events laid out the way drm_dev_wedged_event() sends them, for cases no captured vector covers. */
final class Fixtures {

    private Fixtures() {}

    /** The discrete xe GPU behind a PCIe switch of the xe-rebind-bus-reset vector. */
    static final String SWITCHED_FUNCTION = "/devices/pci0000:00/0000:00:01.0/0000:01:00.0/0000:02:01.0/0000:03:00.0";
    static final PciAddress BDF = PciAddress.parse("0000:03:00.0").orElseThrow();

    /** {@code change@<devpath>} with the kernel's keys in the kernel's order; {@code extra} go after WEDGED. */
    static Uevent wedged(String devpath, String methods, Map<String, String> extra) {
        var f = new LinkedHashMap<String, String>();
        f.put("SUBSYSTEM", "drm");
        f.put("WEDGED", methods);
        f.putAll(extra);
        f.put("MAJOR", "226");
        f.put("MINOR", "0");
        f.put("DEVNAME", "dri/card0");
        f.put("DEVTYPE", "drm_minor");
        f.put("SEQNUM", "5208");
        return wire(Uevent.of("change", devpath, f));
    }

    static Uevent wedged(String methods) {
        return wedged(SWITCHED_FUNCTION + "/drm/card0", methods, Map.of());
    }

    /** {@code u} without the field {@code key}, e.g. a wedge that never went through the kernel (no SEQNUM). */
    static Uevent without(Uevent u, String key) {
        var f = new LinkedHashMap<>(u.fields());
        f.remove(key);
        return wire(new Uevent(u.action(), u.devpath(), f));
    }

    /** The same event after a trip over the wire: what the daemon really looks at. */
    static Uevent wire(Uevent u) {
        var d = UeventCodec.decode(UeventCodec.encode(u));
        assertThat(d).isInstanceOf(Uevent.class);
        return (Uevent) d;
    }

    static WedgedEvent recognised(Uevent u) {
        var r = WedgedEvent.recognise(u);
        assertThat(r).isInstanceOf(WedgedEvent.Wedged.class);
        return ((WedgedEvent.Wedged) r).event();
    }

    static GpuDevice device(PciAddress bdf, String driver) {
        return new GpuDevice("card0", 0, bdf, Optional.ofNullable(driver), SWITCHED_FUNCTION.substring(1),
                List.of("card0", "renderD128"));
    }

    /** Payloads in the tables are written as text with explicit {@code \0}s. */
    static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }
}
