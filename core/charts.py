"""Bar charts as SVG documents, drawn by ReportLab's chart library: the same figures stand in a
table beside every chart, and no chart is a picture of text."""


def bar_chart_svg(
    categories: list[str], series: list[list[float]], names: list[str], *, horizontal: bool = False
) -> str:
    """Bars of one or more series over the categories, with a legend naming each series."""
    from reportlab.graphics import renderSVG
    from reportlab.graphics.charts.barcharts import HorizontalBarChart, VerticalBarChart
    from reportlab.graphics.charts.legends import Legend
    from reportlab.graphics.shapes import Drawing
    from reportlab.lib import colors

    if not categories:
        # Nothing to draw: one empty bar keeps the axes, and the table says "nothing".
        categories, series = [""], [[0] for _values in series]
    height = max(160, 28 * len(categories) + 80) if horizontal else 260
    drawing = Drawing(640, height)
    chart = HorizontalBarChart() if horizontal else VerticalBarChart()
    if horizontal:
        chart.x, chart.y, chart.width, chart.height = 150, 30, 460, height - 70
    else:
        chart.x, chart.y, chart.width, chart.height = 50, 50, 570, 180
    chart.data = series
    chart.categoryAxis.categoryNames = categories
    chart.categoryAxis.labels.fontSize = 8
    chart.categoryAxis.labels.fontName = "Helvetica"
    chart.valueAxis.valueMin = 0
    if not any(value for values in series for value in values):
        # Nothing yet: a plain 0–1 axis rather than ticks of thousandths.
        chart.valueAxis.valueMax, chart.valueAxis.valueStep = 1, 1
    chart.valueAxis.labels.fontSize = 8
    if horizontal:
        chart.categoryAxis.reverseDirection = True
    palette = (colors.HexColor("#2f7d4f"), colors.HexColor("#c0562f"), colors.HexColor("#8a8a8a"))
    for index in range(len(series)):
        chart.bars[index].fillColor = palette[index % len(palette)]
        chart.bars[index].strokeColor = None
    drawing.add(chart)
    legend = Legend()
    legend.x, legend.y = 60, height - 10
    legend.fontSize = 9
    legend.columnMaximum = 1
    legend.alignment = "right"
    # ReportLab measures Chinese names with a Latin font's widths: leave each entry room of its own.
    legend.deltax = 12 * max(len(name) for name in names) + 40
    legend.autoXPadding = 20
    legend.colorNamePairs = list(zip(palette, names, strict=False))
    drawing.add(legend)
    return renderSVG.drawToString(drawing)
