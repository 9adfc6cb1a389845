// ECharts, loaded only when a view first draws a chart (the supervisors' dashboard): the initial bundle
// carries none of it. Only the pieces the charts use are registered.

import type { EChartsCoreOption, EChartsType } from 'echarts/core'

let loading: Promise<typeof import('echarts/core')> | null = null

function loadEcharts(): Promise<typeof import('echarts/core')> {
  loading ??= Promise.all([
    import('echarts/core'),
    import('echarts/charts'),
    import('echarts/components'),
    import('echarts/renderers'),
  ]).then(([core, charts, components, renderers]) => {
    core.use([
      charts.BarChart,
      charts.LineChart,
      charts.PieChart,
      charts.FunnelChart,
      components.GridComponent,
      components.TooltipComponent,
      components.LegendComponent,
      components.TitleComponent,
      renderers.CanvasRenderer,
    ])
    return core
  })
  return loading
}

/** Draw a chart into an element; the caller disposes it when its view unmounts. */
export async function drawChart(el: HTMLElement, option: EChartsCoreOption): Promise<EChartsType> {
  const echarts = await loadEcharts()
  const chart = echarts.getInstanceByDom(el) ?? echarts.init(el, undefined, { locale: 'ZH' })
  chart.setOption(option)
  return chart
}
