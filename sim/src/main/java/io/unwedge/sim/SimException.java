package io.unwedge.sim;

import java.io.IOException;

/** A request the virtual host cannot carry out, said in its words (e.g. "card7: no bound GPU has card7"). */
public final class SimException extends IOException {
    public SimException(String message) {
        super(message);
    }
}
