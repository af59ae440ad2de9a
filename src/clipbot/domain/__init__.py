"""The CLiP domain: people, wards, shifts, roles, the NMC rules, matching and coach groups.

Plain Python with no I/O, so that every rule can be tested exhaustively and benchmarked.
"""
