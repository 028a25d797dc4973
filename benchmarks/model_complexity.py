"""Parameters and GMACs at 256x256 of every registered model, as a markdown table.

MACs are counted as chromagen.models.complexity explains. Generators see a (1, 1, 256, 256)
L batch, discriminators a (1, 3, 256, 256) L+ab batch. Models are built with random weights, which do not
change the counts. Run: ``python benchmarks/model_complexity.py``.
"""

from chromagen.models import create_model, list_models
from chromagen.models.complexity import gmacs, parameters

SIZE = 256


def main() -> None:
    print(f"| model | kind | parameters (M) | GMACs @ {SIZE}x{SIZE} | summary |")
    print("| --- | --- | ---: | ---: | --- |")
    for entry in list_models():
        model = create_model(entry.name, pretrained=False).eval()
        params = parameters(model) / 1e6
        macs = gmacs(model, 1 if entry.kind == "generator" else 3, SIZE)
        print(f"| `{entry.name}` | {entry.kind} | {params:.2f} | {macs:.2f} | {entry.summary} |")


if __name__ == "__main__":
    main()
