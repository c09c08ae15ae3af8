<?xml version="1.0" encoding="utf-8"?>
<!--
  edge: an HTML view of rtmp_stat's XML (PingOS's layout: rtmp, then server/serverid, then
  live, then stream with its clients and meta). A browser applies it to /stat when the location
  has `rtmp_stat_stylesheet /stat.xsl;`; `xsltproc stat.xsl stat.xml` does the same offline.
  XSLT 1.0, no script: one table per server, one row per stream, its clients in rows below it.
-->
<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform">

  <xsl:output method="html" encoding="utf-8" indent="yes" doctype-system="about:legacy-compat"/>

  <xsl:template match="/">
    <html lang="en">
      <head>
        <title>edge: live streams</title>
        <style>
          body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5em; color: #222; }
          h1 { font-size: 1.4em; margin: 0 0 .3em; }
          h2 { font-size: 1.15em; margin: 1.6em 0 .4em; }
          table { border-collapse: collapse; }
          th, td { padding: .25em .6em; text-align: left; vertical-align: top; }
          th { background: #e8ecf0; font-weight: 600; }
          td.n { text-align: right; font-variant-numeric: tabular-nums; }
          table.node td:first-child { color: #555; }
          table.streams > tbody > tr.stream > td { border-top: 1px solid #bbb; background: #f7f9fb; }
          table.clients { margin: .2em 0 .6em 1.5em; font-size: .92em; }
          table.clients th { background: #f0f0f0; }
          .flag { display: inline-block; padding: 0 .4em; border-radius: .3em; font-size: .85em; }
          .on { background: #d4f0d4; }
          .off { background: #eee; color: #777; }
          .none { color: #888; font-style: italic; }
        </style>
      </head>
      <body>
        <xsl:apply-templates select="rtmp"/>
      </body>
    </html>
  </xsl:template>

  <xsl:template match="rtmp">
    <h1>Live streams</h1>
    <table class="node">
      <tr><td>Server version</td><td>nginx <xsl:value-of select="nginx_version"/>, rtmp <xsl:value-of select="nginx_rtmp_version"/></td></tr>
      <tr><td>Runtime</td><td><xsl:value-of select="compiler"/></td></tr>
      <tr><td>Built</td><td><xsl:value-of select="built"/></td></tr>
      <tr><td>PID</td><td><xsl:value-of select="pid"/></td></tr>
      <tr><td>Up for</td><td><xsl:call-template name="duration"><xsl:with-param name="ms" select="uptime * 1000"/></xsl:call-template></td></tr>
      <tr><td>Connections accepted</td><td><xsl:value-of select="naccepted"/></td></tr>
      <tr>
        <td>In</td>
        <td>
          <xsl:call-template name="rate"><xsl:with-param name="bits" select="bw_in"/></xsl:call-template>,
          <xsl:call-template name="size"><xsl:with-param name="bytes" select="bytes_in"/></xsl:call-template>
        </td>
      </tr>
      <tr>
        <td>Out</td>
        <td>
          <xsl:call-template name="rate"><xsl:with-param name="bits" select="bw_out"/></xsl:call-template>,
          <xsl:call-template name="size"><xsl:with-param name="bytes" select="bytes_out"/></xsl:call-template>
        </td>
      </tr>
    </table>
    <xsl:apply-templates select="server"/>
  </xsl:template>

  <xsl:template match="server">
    <h2>Server <xsl:value-of select="serverid"/>: <xsl:value-of select="live/nclients"/> client(s)</h2>
    <xsl:choose>
      <xsl:when test="live/stream">
        <table class="streams">
          <thead>
            <tr>
              <th>Stream</th><th>Clients</th><th>In</th><th>Out</th><th>Bytes in</th><th>Bytes out</th>
              <th>Audio</th><th>Video</th><th>Resolution</th><th>Codecs</th><th>Up for</th><th>State</th>
            </tr>
          </thead>
          <tbody>
            <xsl:apply-templates select="live/stream"/>
          </tbody>
        </table>
      </xsl:when>
      <xsl:otherwise>
        <p class="none">No streams.</p>
      </xsl:otherwise>
    </xsl:choose>
  </xsl:template>

  <xsl:template match="stream">
    <tr class="stream">
      <td><strong><xsl:value-of select="name"/></strong></td>
      <td class="n"><xsl:value-of select="nclients"/></td>
      <td class="n"><xsl:call-template name="rate"><xsl:with-param name="bits" select="bw_in"/></xsl:call-template></td>
      <td class="n"><xsl:call-template name="rate"><xsl:with-param name="bits" select="bw_out"/></xsl:call-template></td>
      <td class="n"><xsl:call-template name="size"><xsl:with-param name="bytes" select="bytes_in"/></xsl:call-template></td>
      <td class="n"><xsl:call-template name="size"><xsl:with-param name="bytes" select="bytes_out"/></xsl:call-template></td>
      <td class="n"><xsl:call-template name="rate"><xsl:with-param name="bits" select="bw_audio"/></xsl:call-template></td>
      <td class="n"><xsl:call-template name="rate"><xsl:with-param name="bits" select="bw_video"/></xsl:call-template></td>
      <td>
        <xsl:if test="meta/video/width &gt; 0">
          <xsl:value-of select="meta/video/width"/>x<xsl:value-of select="meta/video/height"/>
          <xsl:if test="meta/video/frame_rate &gt; 0"> @ <xsl:value-of select="meta/video/frame_rate"/> fps</xsl:if>
        </xsl:if>
      </td>
      <td>
        <xsl:if test="meta/video/codec">
          <xsl:value-of select="meta/video/codec"/>
          <xsl:if test="meta/video/profile"><xsl:text> </xsl:text><xsl:value-of select="meta/video/profile"/></xsl:if>
          <xsl:if test="meta/video/level"><xsl:text> </xsl:text><xsl:value-of select="meta/video/level"/></xsl:if>
        </xsl:if>
        <xsl:if test="meta/video/codec and meta/audio/codec"><br/></xsl:if>
        <xsl:if test="meta/audio/codec">
          <xsl:value-of select="meta/audio/codec"/>
          <xsl:if test="meta/audio/profile"><xsl:text> </xsl:text><xsl:value-of select="meta/audio/profile"/></xsl:if>
          <xsl:if test="meta/audio/channels">, <xsl:value-of select="meta/audio/channels"/> ch</xsl:if>
          <xsl:if test="meta/audio/sample_rate">, <xsl:value-of select="meta/audio/sample_rate"/> Hz</xsl:if>
        </xsl:if>
      </td>
      <td class="n"><xsl:call-template name="duration"><xsl:with-param name="ms" select="time"/></xsl:call-template></td>
      <td>
        <xsl:call-template name="flag"><xsl:with-param name="on" select="publishing"/><xsl:with-param name="text">publishing</xsl:with-param></xsl:call-template>
        <xsl:text> </xsl:text>
        <xsl:call-template name="flag"><xsl:with-param name="on" select="active"/><xsl:with-param name="text">active</xsl:with-param></xsl:call-template>
      </td>
    </tr>
    <xsl:if test="client">
      <tr class="clients">
        <td colspan="12">
          <table class="clients">
            <thead>
              <tr>
                <th>Id</th><th>Address</th><th>Remote</th><th>Flash version</th><th>Connected for</th>
                <th>Dropped</th><th>A-V sync</th><th>Timestamp</th><th>Role</th>
              </tr>
            </thead>
            <tbody>
              <xsl:apply-templates select="client"/>
            </tbody>
          </table>
        </td>
      </tr>
    </xsl:if>
  </xsl:template>

  <xsl:template match="client">
    <tr class="client">
      <td class="n"><xsl:value-of select="id"/></td>
      <td><xsl:value-of select="address"/></td>
      <td>
        <xsl:choose>
          <xsl:when test="string(remote_address)"><xsl:value-of select="remote_address"/></xsl:when>
          <xsl:otherwise><span class="none">relay</span></xsl:otherwise>
        </xsl:choose>
      </td>
      <td><xsl:value-of select="flashver"/></td>
      <td class="n"><xsl:call-template name="duration"><xsl:with-param name="ms" select="time"/></xsl:call-template></td>
      <td class="n"><xsl:value-of select="dropped"/></td>
      <td class="n"><xsl:value-of select="avsync"/> ms</td>
      <td class="n"><xsl:value-of select="timestamp"/></td>
      <td>
        <xsl:choose>
          <xsl:when test="publishing"><span class="flag on">publishing</span></xsl:when>
          <xsl:otherwise><span class="flag off">playing</span></xsl:otherwise>
        </xsl:choose>
      </td>
    </tr>
  </xsl:template>

  <!-- a flag element (<publishing/>, <active/>) shown as a label, dimmed when absent -->
  <xsl:template name="flag">
    <xsl:param name="on"/>
    <xsl:param name="text"/>
    <span>
      <xsl:attribute name="class">flag <xsl:choose><xsl:when test="$on">on</xsl:when><xsl:otherwise>off</xsl:otherwise></xsl:choose></xsl:attribute>
      <xsl:value-of select="$text"/>
    </span>
  </xsl:template>

  <!-- bits per second, in the largest unit under 1000 -->
  <xsl:template name="rate">
    <xsl:param name="bits"/>
    <xsl:variable name="b" select="number($bits)"/>
    <xsl:choose>
      <xsl:when test="not($b &gt;= 0)">-</xsl:when>
      <xsl:when test="$b &gt;= 1000000"><xsl:value-of select="format-number($b div 1000000, '0.00')"/> Mb/s</xsl:when>
      <xsl:when test="$b &gt;= 1000"><xsl:value-of select="format-number($b div 1000, '0')"/> kb/s</xsl:when>
      <xsl:otherwise><xsl:value-of select="$b"/> b/s</xsl:otherwise>
    </xsl:choose>
  </xsl:template>

  <!-- a byte count, in binary units -->
  <xsl:template name="size">
    <xsl:param name="bytes"/>
    <xsl:variable name="b" select="number($bytes)"/>
    <xsl:choose>
      <xsl:when test="not($b &gt;= 0)">-</xsl:when>
      <xsl:when test="$b &gt;= 1073741824"><xsl:value-of select="format-number($b div 1073741824, '0.00')"/> GiB</xsl:when>
      <xsl:when test="$b &gt;= 1048576"><xsl:value-of select="format-number($b div 1048576, '0.0')"/> MiB</xsl:when>
      <xsl:when test="$b &gt;= 1024"><xsl:value-of select="format-number($b div 1024, '0')"/> KiB</xsl:when>
      <xsl:otherwise><xsl:value-of select="$b"/> B</xsl:otherwise>
    </xsl:choose>
  </xsl:template>

  <!-- milliseconds as "2d 3h 4m 5s", leading zero units left out -->
  <xsl:template name="duration">
    <xsl:param name="ms"/>
    <xsl:variable name="s" select="floor(number($ms) div 1000)"/>
    <xsl:choose>
      <xsl:when test="not($s &gt;= 0)">-</xsl:when>
      <xsl:otherwise>
        <xsl:if test="$s &gt;= 86400"><xsl:value-of select="floor($s div 86400)"/>d </xsl:if>
        <xsl:if test="$s &gt;= 3600"><xsl:value-of select="floor($s mod 86400 div 3600)"/>h </xsl:if>
        <xsl:if test="$s &gt;= 60"><xsl:value-of select="floor($s mod 3600 div 60)"/>m </xsl:if>
        <xsl:value-of select="$s mod 60"/>s
      </xsl:otherwise>
    </xsl:choose>
  </xsl:template>

</xsl:stylesheet>
