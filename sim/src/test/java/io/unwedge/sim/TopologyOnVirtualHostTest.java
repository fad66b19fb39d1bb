package io.unwedge.sim;

import static org.assertj.core.api.Assertions.assertThat;

import io.unwedge.core.GpuDevice;
import io.unwedge.core.Uevent;
import io.unwedge.core.WedgedEvent;
import io.unwedge.host.sysfs.Sysfs;
import io.unwedge.host.sysfs.Topology;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Topology is host code; it is tested against the virtual host's tree, which is what it reads in the field too. */
class TopologyOnVirtualHostTest {

    @TempDir Path dir;

    static WedgedEvent wedged(String devpath) {
        var f = new LinkedHashMap<String, String>();
        f.put("SUBSYSTEM", "drm");
        f.put("WEDGED", "rebind,bus-reset");
        f.put("SEQNUM", "77");
        var r = WedgedEvent.recognise(Uevent.of("change", devpath, f));
        return ((WedgedEvent.Wedged) r).event();
    }

    @Test
    void resolvesACardBehindASwitchToItsFunctionDriverAndMinors() throws Exception {
        var host = VirtualHost.create(dir.resolve("h"), 2, GpuModel.XE, 0);
        var topology = new Topology(new Sysfs(host.sys()));
        var r = topology.resolve(wedged(host.gpus().get(1).devpath() + "/drm/card1"));
        assertThat(r).isInstanceOf(Topology.Resolution.Found.class);
        var d = ((Topology.Resolution.Found) r).device();
        assertThat(d.card()).isEqualTo("card1");
        assertThat(d.bdf()).hasToString("0000:06:00.0");
        assertThat(d.driver()).contains("xe");
        assertThat(d.minors()).containsExactly("card1", "renderD129");
        assertThat(d.sysPath()).isEqualTo("devices/pci0000:00/0000:00:01.1/0000:04:00.0/0000:05:01.0/0000:06:00.0");
    }

    @Test
    void listsCardsNotConnectorsRenderNodesOrTheVersionFileAndCountsPastTen() throws Exception {
        var host = VirtualHost.create(dir.resolve("h"), 3, GpuModel.I915, 9);
        var topology = new Topology(new Sysfs(host.sys()));
        assertThat(topology.cards()).extracting(GpuDevice::card).containsExactly("card9", "card10", "card11");
        var r = topology.resolve(wedged(host.gpus().get(2).devpath() + "/drm/card11"));
        assertThat(((Topology.Resolution.Found) r).device().cardIndex()).isEqualTo(11);
    }

    @Test
    void aCardThatIsNotThereIsGone() throws Exception {
        var host = VirtualHost.create(dir.resolve("h"), 1, GpuModel.XE, 0);
        var topology = new Topology(new Sysfs(host.sys()));
        assertThat(topology.resolve(wedged(host.gpus().get(0).devpath() + "/drm/card5"))).isInstanceOf(Topology.Resolution.Gone.class);
        assertThat(topology.resolve(wedged("/devices/pci0000:00/0000:00:09.0/0000:09:00.0/drm/card0"))).isInstanceOf(Topology.Resolution.Gone.class);
    }

    @Test
    void aDevpathThatResolvesOutsideDevicesIsInvalid() throws Exception {
        var host = VirtualHost.create(dir.resolve("h"), 1, GpuModel.XE, 0);
        // a hostile tree: a BDF-named link under devices/ that leads out of it
        Path outside = Files.createDirectories(dir.resolve("elsewhere/0000:0a:00.0/drm/card3"));
        Files.createSymbolicLink(host.sys().resolve("devices/pci0000:00/0000:0a:00.0"), outside.getParent().getParent());
        var topology = new Topology(new Sysfs(host.sys()));
        var r = topology.resolve(wedged("/devices/pci0000:00/0000:0a:00.0/drm/card3"));
        assertThat(r).isInstanceOf(Topology.Resolution.Invalid.class);
        assertThat(((Topology.Resolution.Invalid) r).reason()).contains("outside");
    }

    @Test
    void bindStateIsReadFromTheDriverLink() throws Exception {
        var host = VirtualHost.create(dir.resolve("h"), 1, GpuModel.XE, 0);
        var topology = new Topology(new Sysfs(host.sys()));
        var bdf = host.gpus().get(0).bdf();
        assertThat(topology.isUp(bdf)).isTrue();
        assertThat(topology.isUnbound(bdf)).isFalse();
        host.detach(host.gpus().get(0));
        assertThat(topology.isUp(bdf)).isFalse();
        assertThat(topology.isUnbound(bdf)).isTrue();
        assertThat(topology.byBdf(bdf)).isEmpty();
        assertThat(topology.cards()).isEmpty();
    }

    @Test
    void aGpusSlotIsFoundByWalkingUpItsBridgesAsTheColdResetScriptDoes() throws Exception {
        var host = VirtualHost.create(dir.resolve("h"), 2, GpuModel.XE, 0);
        var topology = new Topology(new Sysfs(host.sys()));
        var gpu = topology.cards().get(1);
        Path slots = host.sys().resolve("bus/pci/slots");
        // the GPU's own address is in no slot: the slot holds the card's switch
        assertThat(slotWhoseAddressPrefixes(slots, gpu.bdf().toString())).isNull();
        String found = null;
        for (Path p = topology.functionDir(gpu.bdf()).orElseThrow(); found == null && p.getFileName().toString().matches("[0-9a-f]{4}:.*"); p = p.getParent()) {
            found = slotWhoseAddressPrefixes(slots, p.getFileName().toString());
        }
        assertThat(found).isEqualTo("2");
        assertThat(host.slotDir(host.gpus().get(1))).contains(slots.resolve("2"));
        // the audio function is no card: Topology does not list it
        assertThat(topology.cards()).extracting(d -> d.bdf().toString()).containsExactly("0000:03:00.0", "0000:06:00.0");
    }

    private static String slotWhoseAddressPrefixes(Path slots, String bdf) throws Exception {
        try (var s = Files.list(slots)) {
            for (Path slot : s.toList()) {
                if (bdf.startsWith(Files.readString(slot.resolve("address")).strip() + ".")) return slot.getFileName().toString();
            }
        }
        return null;
    }
}
