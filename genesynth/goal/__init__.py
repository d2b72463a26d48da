"""What a search aims for: the constraint (bounds on accuracy, params, MACs, latency) and the
utility that ranks networks inside it (NetScore, MnasNet's reward, your own)."""
