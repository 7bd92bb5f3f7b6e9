"""The teaching notebooks, written as Python so that a review reads plain Python and Markdown.

`cells` holds the cell model and the nbformat assembly, `shared` the cells every notebook uses
(server start and stop, recording transport, JWT printer, sequence diagram, the bank backend),
and one module per notebook holds its cells. `notebooks/build_notebooks.py` writes or checks them.
"""

from __future__ import annotations

from . import enrollment, pin_login, registration
from .cells import Cell, render

NOTEBOOKS: dict[str, list[Cell]] = {
    module.FILENAME: module.CELLS for module in (registration, enrollment, pin_login)
}

__all__ = ["NOTEBOOKS", "Cell", "render"]
