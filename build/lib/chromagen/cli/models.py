"""``chromagen models``: the registered architectures and the bundled weights."""

from rich.table import Table

from chromagen.cli.app import app, out


@app.command()
def models() -> None:
    """List the registered architectures (with parameter counts) and the bundled weights."""
    from chromagen.models import create_model, list_models
    from chromagen.models.weights import bundled_names

    table = Table(title="chromagen models")
    for column in ("name", "kind", "parameters", "description"):
        table.add_column(column)
    for entry in list_models():
        params = sum(p.numel() for p in create_model(entry.name, pretrained=False).parameters())
        table.add_row(entry.name, entry.kind, f"{params / 1e6:.2f}M", entry.summary)
    out.print(table)
    out.print(f"bundled weights: {', '.join(bundled_names()) or 'none'}")
