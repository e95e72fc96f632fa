/// flare.xml files as the original wrote them (docs/original-behaviour.md, "Recorded exchanges").
enum FlareXMLFixtures {
    /// `<data-dir>/flare.xml` after the tutorial, verbatim: tab-indented, and ending in a blank
    /// line (Boost's trailing newline plus the `std::endl` it writes when the archive closes).
    static let afterTutorial = """
<?xml version="1.0" encoding="UTF-8" standalone="yes" ?>
<!DOCTYPE boost_serialization>
<boost_serialization signature="serialization::archive" version="18">
<version>36</version>
<node_map class_id="0" tracking_level="0" version="0">
	<count>4</count>
	<item_version>0</item_version>
	<item class_id="1" tracking_level="0" version="0">
		<first>127.0.0.1:12121</first>
		<second class_id="2" tracking_level="0" version="0">
			<node_server_name>127.0.0.1</node_server_name>
			<node_server_port>12121</node_server_port>
			<node_role>1</node_role>
			<node_state>0</node_state>
			<node_partition>0</node_partition>
			<node_balance>1</node_balance>
			<node_thread_type>16</node_thread_type>
		</second>
	</item>
	<item>
		<first>127.0.0.2:12122</first>
		<second>
			<node_server_name>127.0.0.2</node_server_name>
			<node_server_port>12122</node_server_port>
			<node_role>0</node_role>
			<node_state>0</node_state>
			<node_partition>0</node_partition>
			<node_balance>1</node_balance>
			<node_thread_type>18</node_thread_type>
		</second>
	</item>
	<item>
		<first>127.0.0.3:12123</first>
		<second>
			<node_server_name>127.0.0.3</node_server_name>
			<node_server_port>12123</node_server_port>
			<node_role>0</node_role>
			<node_state>0</node_state>
			<node_partition>1</node_partition>
			<node_balance>1</node_balance>
			<node_thread_type>17</node_thread_type>
		</second>
	</item>
	<item>
		<first>127.0.0.4:12124</first>
		<second>
			<node_server_name>127.0.0.4</node_server_name>
			<node_server_port>12124</node_server_port>
			<node_role>1</node_role>
			<node_state>0</node_state>
			<node_partition>1</node_partition>
			<node_balance>1</node_balance>
			<node_thread_type>19</node_thread_type>
		</second>
	</item>
</node_map>
<thread_type>20</thread_type>
</boost_serialization>
""" + "\n\n"
}
