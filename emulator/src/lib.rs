//! A local emulator of the parts of Globus Auth and Transfer that gstage uses.
