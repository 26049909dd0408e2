"""Read-aloud: answer text prepared for speech (`text`) and synthesised offline with espeak-ng (`synth`)."""
