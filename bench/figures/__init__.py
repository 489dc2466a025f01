"""One plotting module per figure: ``draw(data, out_png)`` reads a tidy table written by ``bench.analysis`` and
saves ``.png`` and ``.pdf``. ``bench.figures.style`` gives every figure the same fonts, sizes and method colours.
Figure modules never train, certify or verify."""
