def render_config(upstream: str, listen: str) -> str:  # filled in below
    raise NotImplementedError
