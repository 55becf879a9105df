"""Coded-mask imaging: shadowgrams, balanced FFT decoding, source shadows."""
