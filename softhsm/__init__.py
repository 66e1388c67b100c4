"""Throwaway SoftHSM environments for tests, demos and rehearsals."""
